"""PyTorch reference for softmax with temperature and mask (tests/test-ops-softmax.c).

Masked entries (mask == 0) are excluded: logits -> -inf before the softmax.  A
fully masked row is all zeros with zero gradient; torch would give NaN there,
so such rows get finite dummy logits before the softmax and are zeroed after
(torch.where, which also keeps NaN out of the backward pass).
"""
import torch
from svref import leaf, out_path, save


def masked_softmax(x, mask, temperature):
    logits = x / temperature
    if mask is None:
        return torch.softmax(logits, dim=-1)
    off = mask == 0
    dead = off.all(dim=-1, keepdim=True)
    logits = logits.masked_fill(off, float("-inf"))
    logits = torch.where(dead, torch.zeros_like(logits), logits)
    return torch.where(off, torch.zeros_like(logits), torch.softmax(logits, dim=-1))


temperature = 0.375  # exact in float32
x = leaf(2, 5, 37, lo=-2.0, hi=2.0)
mask = (torch.rand(2, 5, 37) < 0.7).to(torch.float64)
mask[0, 1, :] = 0          # fully masked row
mask[1, 2, :] = 0
mask[1, 2, 11] = 1         # a single entry left
gy = torch.rand(2, 5, 37) * 2 - 1

y = masked_softmax(x, mask, temperature)
y.backward(gy)
gx = x.grad.clone()
x.grad = None
y_nomask = masked_softmax(x, None, temperature)
y_nomask.backward(gy)

assert torch.isfinite(gx).all() and torch.isfinite(y).all()
save(out_path(), dict(x=x, mask=mask, gy=gy, y=y, gx=gx, y_nomask=y_nomask, gx_nomask=x.grad,
                      temperature=torch.tensor([temperature])))
