"""PyTorch reference for linear and batched matmul (tests/test-ops-linear.c)."""
import torch
from svref import leaf, out_path, save

x = leaf(2, 5, 24)
w = leaf(40, 24)
b = leaf(40)
y = torch.nn.functional.linear(x, w, b)
gy = torch.rand_like(y) * 2 - 1
y.backward(gy)

ma = leaf(3, 7, 16)
mb = leaf(3, 9, 16)
alpha = 0.25
mc = alpha * ma @ mb.transpose(1, 2)
gmc = torch.rand_like(mc) * 2 - 1
mc.backward(gmc)

save(out_path(), dict(x=x, w=w, b=b, y=y, gy=gy, gx=x.grad, gw=w.grad, gb=b.grad,
                      ma=ma, mb=mb, mc=mc, gmc=gmc, gma=ma.grad, gmb=mb.grad,
                      alpha=torch.tensor([alpha])))
