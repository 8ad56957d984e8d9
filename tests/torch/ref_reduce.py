"""PyTorch reference for mean, l2norm and cosine similarity (tests/test-ops-reduce.c)."""
import torch
from svref import leaf, out_path, save

# mean over the spatial axes of [B, Nt, H', W', D] (mask 0b01100 in the C test)
mx = leaf(2, 3, 4, 5, 6)
my = mx.mean(dim=(2, 3))
gmy = torch.rand_like(my) * 2 - 1
my.backward(gmy)

# mean over tokens of [B, N, D] (mask 0b010)
tx = leaf(2, 7, 8)
ty = tx.mean(dim=1)
gty = torch.rand_like(ty) * 2 - 1
ty.backward(gty)

# mean over everything (mask 0b11), stored as a 1-element tensor
sx = leaf(3, 5)
sy = sx.mean().reshape(1)
gsy = torch.rand_like(sy) * 2 - 1
sy.backward(gsy)


def l2normalize(x, eps):
    return x / x.norm(dim=-1, keepdim=True).clamp_min(eps)


# l2norm with rows in both regimes: rows 1 and 4 have norms below eps
leps = 1e-2
lx0 = torch.rand(6, 16) * 2 - 1
lx0[1] *= 1e-3
lx0[4] *= 1e-3
lx = lx0.clone().requires_grad_(True)
ly = l2normalize(lx, leps)
gly = torch.rand_like(ly) * 2 - 1
ly.backward(gly)

# cosine similarity matrices: normalise then bmm; a[0, 2] is in the clamped regime
ceps = 1e-2
ca0 = torch.rand(3, 5, 16) * 2 - 1
ca0[0, 2] *= 1e-3
ca = ca0.clone().requires_grad_(True)
cb = leaf(3, 7, 16)
csim = torch.bmm(l2normalize(ca, ceps), l2normalize(cb, ceps).transpose(1, 2))
gcsim = torch.rand_like(csim) * 2 - 1
csim.backward(gcsim)

save(out_path(), dict(mx=mx, my=my, gmy=gmy, gmx=mx.grad,
                      tx=tx, ty=ty, gty=gty, gtx=tx.grad,
                      sx=sx, sy=sy, gsy=gsy, gsx=sx.grad,
                      lx=lx, ly=ly, gly=gly, glx=lx.grad, leps=torch.tensor([leps]),
                      ca=ca, cb=cb, csim=csim, gcsim=gcsim, gca=ca.grad, gcb=cb.grad,
                      ceps=torch.tensor([ceps])))
