"""PyTorch reference for the axis swap (tests/test-ops-layout.c)."""
import torch
from svref import leaf, out_path, save

x = leaf(3, 4, 6, 5)
y = x.transpose(1, 2).contiguous()
gy = torch.rand_like(y) * 2 - 1
y.backward(gy)
save(out_path(), dict(x=x, y=y, gy=gy, gx=x.grad))
