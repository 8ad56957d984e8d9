"""PyTorch reference for the grouping assignment (tests/test-ops-assign.c).

GroupViT's gumbel_softmax (with the Gumbel noise given as a fixed tensor) and the
normalisation of AssignAttention (NVlabs/GroupViT, models/group_vit.py), in float64:
  y = softmax((logits + noise) / tau) over the group axis,
  hard: A = onehot(argmax y) - y.detach() + y (straight-through), soft: A = y,
  out = A / (A.sum(-1, keepdim=True) + 1).
"""
import torch
from svref import leaf, out_path, save

B, M, N = 2, 6, 37
TAU = 0.7


def f32_leaf(*shape, lo=-1.0, hi=1.0):
    """A leaf whose values are exactly representable in float32 (as the C test reads them)."""
    t = leaf(*shape, lo=lo, hi=hi)
    with torch.no_grad():
        t.copy_(t.float().double())
    return t


def gumbel_softmax(logits, tau, hard, dim, gumbels):
    gumbels = (logits + gumbels) / tau
    y_soft = gumbels.softmax(dim)
    if hard:
        index = y_soft.max(dim, keepdim=True)[1]
        y_hard = torch.zeros_like(logits).scatter_(dim, index, 1.0)
        ret = y_hard - y_soft.detach() + y_soft
    else:
        ret = y_soft
    return ret, y_soft


def assign(logits, noise, tau, hard):
    a, y_soft = gumbel_softmax(logits, tau, hard, -2, noise)  # softmax over the group axis
    return a / (a.sum(dim=-1, keepdim=True) + 1), y_soft


logits_base = f32_leaf(B, M, N, lo=-2.0, hi=2.0)
u = torch.rand(B, M, N).clamp(1e-6, 1 - 1e-6)
noise = (-torch.log(-torch.log(u))).float().double()

out = {"logits": logits_base, "noise": noise, "tau": torch.tensor([TAU])}
for name, nz, tau, hard in (("soft", noise, TAU, False), ("hard", noise, TAU, True),
                            ("infer", torch.zeros_like(noise), 1.0, True)):
    logits = logits_base.detach().clone().requires_grad_(True)
    a, y = assign(logits, nz, tau, hard)
    # the hard case must not sit on a near-tie that float32 could resolve differently
    top2 = y.detach().topk(2, dim=-2).values
    assert (top2[:, 0] - top2[:, 1]).min().item() > 1e-4, name
    gout = (torch.rand_like(a) * 2 - 1).float().double()
    a.backward(gout)
    out["out_" + name] = a
    out["y_" + name] = y
    out["gout_" + name] = gout
    out["glogits_" + name] = logits.grad

save(out_path(), out)
