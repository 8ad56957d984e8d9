"""PyTorch reference for GELU, broadcast add and scale (tests/test-ops-elementwise.c).

GELU is torch's default exact erf form (approximate='none').  add covers the
residual add (same shapes), a position embedding [N, C] onto [B, N, C] and a
bias [C] onto [B, N, C]; the gradient of the broadcast operand sums over the
leading axes.  Everything in float64, gradients of sum(out * gout).
"""
import torch
from svref import leaf, out_path, save

tensors = {}

x = leaf(3, 5, 17, lo=-6.0, hi=6.0)
y = torch.nn.functional.gelu(x)
gy = torch.rand_like(y) * 2 - 1
y.backward(gy)
tensors.update(gelu_x=x, gelu_y=y, gelu_gy=gy, gelu_gx=x.grad)

for name, ashape, bshape in (("same", (4, 6, 10), (4, 6, 10)),
                             ("pos", (2, 5, 24), (5, 24)),
                             ("bias", (2, 5, 24), (24,))):
    a = leaf(*ashape)
    b = leaf(*bshape)
    out = a + b
    gout = torch.rand_like(out) * 2 - 1
    out.backward(gout)
    tensors.update({f"add_{name}_a": a, f"add_{name}_b": b, f"add_{name}_out": out,
                    f"add_{name}_gout": gout, f"add_{name}_ga": a.grad,
                    f"add_{name}_gb": b.grad})

alpha = -0.3125
sx = leaf(7, 33)
sy = alpha * sx
sgy = torch.rand_like(sy) * 2 - 1
sy.backward(sgy)
tensors.update(scale_x=sx, scale_y=sy, scale_gy=sgy, scale_gx=sx.grad,
               scale_alpha=torch.tensor([alpha]))

save(out_path(), tensors)
