"""PyTorch reference for layernorm (tests/test-ops-norm.c).

For C in 1 (degenerate: zero variance), 7 (no bias), 33 and 256: input [2, 3, C],
torch.nn.functional.layer_norm over the last axis (biased variance) in float64,
with the mean/rstd caches and the gradients of sum(y * gy).
"""
import torch
from svref import leaf, out_path, save

tensors = {}
for C, with_bias, eps in ((1, True, 1e-5), (7, False, 1e-6), (33, True, 1e-5), (256, True, 1e-6)):
    x = leaf(2, 3, C, lo=-2.0, hi=2.0)
    w = leaf(C, lo=0.5, hi=1.5)
    b = leaf(C) if with_bias else None
    y = torch.nn.functional.layer_norm(x, (C,), w, b, eps)
    gy = torch.rand_like(y) * 2 - 1
    y.backward(gy)
    xd = x.detach()
    mean = xd.mean(-1)
    rstd = 1.0 / torch.sqrt(xd.var(-1, unbiased=False) + eps)
    tensors.update({f"x{C}": x, f"w{C}": w, f"y{C}": y, f"gy{C}": gy, f"gx{C}": x.grad,
                    f"gw{C}": w.grad, f"mean{C}": mean, f"rstd{C}": rstd,
                    f"eps{C}": torch.tensor([eps])})
    if with_bias:
        tensors.update({f"b{C}": b, f"gb{C}": b.grad})

save(out_path(), tensors)
