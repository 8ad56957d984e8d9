"""PyTorch reference for embedding and tubelet embedding (tests/test-ops-embedding.c)."""
import torch
from svref import leaf, out_path, save

# F.embedding with repeated ids (V small next to the number of ids)
V, C = 11, 24
table = leaf(V, C)
ids = torch.randint(0, V, (3, 17), dtype=torch.int64)
ids[0, 0] = V - 1
y = torch.nn.functional.embedding(ids, table)
gy = torch.rand_like(y) * 2 - 1
y.backward(gy)

# Tubelet embedding = Conv3d with kernel = stride = (pt, p, p) on video[B,C,T,H,W].
# Our weight is [D, pt*p*p*Cin] with the vector order (dt, dy, dx, c), so the conv
# weight [D, Cin, pt, p, p] is weight.view(D, pt, p, p, Cin).permute(0, 4, 1, 2, 3).
B, T, H, W, Cin, pt, p, D = 2, 4, 6, 9, 3, 2, 3, 10
video = leaf(B, T, H, W, Cin)
tw = leaf(D, pt * p * p * Cin)
tb = leaf(D)
conv_w = tw.view(D, pt, p, p, Cin).permute(0, 4, 1, 2, 3)
ty = torch.nn.functional.conv3d(video.permute(0, 4, 1, 2, 3), conv_w, tb, stride=(pt, p, p))
ty = ty.flatten(2).transpose(1, 2)  # [B, D, T', H', W'] -> [B, Np, D], tokens (t', y', x')
gty = torch.rand_like(ty) * 2 - 1
ty.backward(gty)

save(out_path(), dict(table=table, ids=ids, y=y, gy=gy, gtable=table.grad,
                      video=video, tw=tw, tb=tb, ty=ty, gty=gty, gvideo=video.grad,
                      gtw=tw.grad, gtb=tb.grad,
                      pt=torch.tensor([float(pt)]), p=torch.tensor([float(p)])))
