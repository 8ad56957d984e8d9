"""PyTorch reference for the block-banded STGT graph attention (tests/test-ops-stgraph.c).

Implements the DENSE definition (method.md section 9) on all N x N pairs; the C test
builds the band graph from the same u and runs the banded op, then compares with these
dense values gathered onto the band.  Per set <s>: <s>.u (graph features, detached: no
gradient flows into them), <s>.q/k/v, <s>.heads, <s>.frames, <s>.theta, the dense graph
M [B,N,N], the forward out and dense att [B,H,N,N], the probe gout and gq/gk/gv.

  Sim[i][j] = u_i.u_j / sqrt(max(|u_i|^2 |u_j|^2, 1e-24)), clamped to [-1, 1]
  A = Sim where Sim >= theta else 0   (Sim[i][i] = 1: the diagonal is always kept)
  Gt[i][j] = |i // S - j // S| <= 1,  M = A * Gt
  logits = (q_i.k_j / sqrt(hs)) * M, -inf where M == 0; att = softmax_j; out = att @ v

The dot products are one elementwise product and one reduction for every pair, so an
exact duplicate row gives u_i.u_j == |u_i|^2 == |u_j|^2 bit for bit and Sim exactly 1
(sqrt(d*d) == d), which theta = 1 keeps.  Pairs whose Sim lies within 1e-5 of theta
(other than exact duplicates) are avoided, so the keep / drop decisions cannot depend on
rounding; the script asserts that.
"""
import math

import torch
from svref import leaf, out_path, save


def f32(t):
    """Values exactly representable in float32 (as saved)."""
    return t.detach().float().double()


def leaf32(*shape):
    return f32(leaf(*shape)).requires_grad_(True)


def dense_graph(u, frames, theta):
    B, N, _ = u.shape
    S = N // frames
    dots = (u[:, :, None, :] * u[:, None, :, :]).sum(-1)              # [B,N,N]
    nn = torch.diagonal(dots, dim1=1, dim2=2)                          # [B,N]
    sim = dots / torch.sqrt(torch.clamp(nn[:, :, None] * nn[:, None, :], min=1e-24))
    sim = sim.clamp(-1.0, 1.0)
    eye = torch.eye(N, dtype=torch.bool)
    assert (torch.diagonal(sim, dim1=1, dim2=2) == 1).all()
    dup = (u[:, :, None, :] == u[:, None, :, :]).all(-1)
    assert (sim[dup] == 1).all(), "exact duplicates must give Sim == 1"
    assert ((sim - theta).abs()[~dup] > 1e-5).all(), "a pair too close to theta: change the seed"
    a = torch.where(sim >= theta, sim, torch.zeros_like(sim))
    a = torch.where(eye, torch.ones_like(a), a)
    sl = torch.arange(N) // S
    gt = ((sl[:, None] - sl[None, :]).abs() <= 1).to(sim.dtype)
    return a * gt


def attention(q, k, v, heads, g):
    B, N, C = q.shape
    hs = C // heads
    qh = q.view(B, N, heads, hs).transpose(1, 2)
    kh = k.view(B, N, heads, hs).transpose(1, 2)
    vh = v.view(B, N, heads, hs).transpose(1, 2)
    logits = qh @ kh.transpose(-2, -1) / math.sqrt(hs)
    gg = g[:, None]                                    # shared across heads
    logits = (logits * gg).masked_fill(gg == 0, float("-inf"))
    att = torch.softmax(logits, dim=-1)                # the diagonal keeps every row alive
    out = (att @ vh).transpose(1, 2).reshape(B, N, C)
    return out, att


tensors = {}
configs = [
    # name, B, frames, S, C, heads, Cg, theta, duplicates
    ("a", 2, 3, 4, 8, 2, 6, 0.5, 0),
    ("b", 1, 5, 3, 12, 3, 4, -1.0, 0),
    ("c", 2, 4, 2, 8, 4, 5, 1.0, 3),    # theta 1: the diagonal and exact duplicates
    ("d", 1, 1, 7, 6, 1, 3, 0.5, 2),    # a single temporal slice
]
for name, B, frames, S, C, heads, Cg, theta, dups in configs:
    N = frames * S
    u = f32(torch.rand(B, N, Cg) * 2 - 1)
    for b in range(B):
        for _ in range(dups):
            i, j = torch.randint(0, N, (2,)).tolist()
            u[b, j] = u[b, i]
    g = dense_graph(u, frames, theta)
    q, k, v = leaf32(B, N, C), leaf32(B, N, C), leaf32(B, N, C)
    out, att = attention(q, k, v, heads, g)
    gout = f32(torch.rand_like(out) * 2 - 1)
    out.backward(gout)
    for t in (out, att, q.grad, k.grad, v.grad):
        assert torch.isfinite(t).all()
    if theta == 1.0:
        assert ((g != 0).sum() > B * N), "want some exact duplicates inside the band"
    tensors.update({name + "." + key: val for key, val in dict(
        u=u, q=q, k=k, v=v, graph=g, out=out, att=att, gout=gout, gq=q.grad, gk=k.grad,
        gv=v.grad, heads=torch.tensor([float(heads)]), frames=torch.tensor([float(frames)]),
        theta=torch.tensor([theta])).items()})

save(out_path(), tensors)
