"""PyTorch reference for the multi-head attention core (tests/test-ops-attention.c).

Sets "self", "self_graph", "cross", "cross_graph"; each saves <set>.q/k/v (and
<set>.graph), <set>.heads, the forward out and att, the probe gout and the
gradients gq/gk/gv.  With an STGT graph g (method.md section 9):
logits = (q k^T / sqrt(hs)) * g, masked_fill(g == 0, -inf), softmax over keys.
A query whose graph row is all zero has att 0 and out 0: such rows get finite
dummy logits before the softmax and are zeroed after (torch.where, which keeps
the NaN that softmax over all -inf would give out of both passes).
"""
import math

import torch
from svref import leaf, out_path, save


def leaf32(*shape):
    """A leaf whose values are exactly representable in float32 (as saved)."""
    return leaf(*shape).detach().float().double().requires_grad_(True)


def attention(q, k, v, heads, g=None):
    B, Nq, C = q.shape
    Nk = k.shape[1]
    hs = C // heads
    qh = q.view(B, Nq, heads, hs).transpose(1, 2)   # [B,H,Nq,hs]
    kh = k.view(B, Nk, heads, hs).transpose(1, 2)   # [B,H,Nk,hs]
    vh = v.view(B, Nk, heads, hs).transpose(1, 2)
    logits = qh @ kh.transpose(-2, -1) / math.sqrt(hs)
    if g is None:
        att = torch.softmax(logits, dim=-1)
    else:
        gg = g[:, None]                               # shared across heads
        off = (gg == 0).expand_as(logits)
        logits = (logits * gg).masked_fill(off, float("-inf"))
        dead = off.all(dim=-1, keepdim=True)
        logits = torch.where(dead, torch.zeros_like(logits), logits)
        att = torch.where(off, torch.zeros_like(logits), torch.softmax(logits, dim=-1))
    out = (att @ vh).transpose(1, 2).reshape(B, Nq, C)
    return out, att


def stgt_graph(fq, fk, frames, self_attn):
    """cosine >= 0.5 kept, times the temporal band |frame(i) - frame(j)| <= 1."""
    B, Nq, _ = fq.shape
    Nk = fk.shape[1]
    s = torch.nn.functional.normalize(fq, dim=-1) @ torch.nn.functional.normalize(fk, dim=-1).transpose(1, 2)
    a = torch.where(s >= 0.5, s, torch.zeros_like(s))
    fi = torch.arange(Nq) * frames // Nq
    fj = torch.arange(Nk) * frames // Nk
    band = ((fi[:, None] - fj[None, :]).abs() <= 1).to(s.dtype)
    g = a * band
    if self_attn:
        g = g + torch.diag_embed(1 - torch.diagonal(g, dim1=1, dim2=2))  # diagonal exactly 1
    g[0, Nq // 2, :] = 0                                                 # one all-zero row
    return g.float().double()


tensors = {}
configs = [
    # name, B, Nq, Nk, C, heads, graph
    ("self", 2, 12, 12, 16, 2, False),
    ("self_graph", 2, 12, 12, 16, 4, True),   # 3 frames x 4 tokens
    ("cross", 2, 8, 33, 12, 1, False),
    ("cross_graph", 2, 8, 33, 12, 2, True),  # 8 group tokens x 33 video tokens
]
for name, B, Nq, Nk, C, heads, with_graph in configs:
    q, k, v = leaf32(B, Nq, C), leaf32(B, Nk, C), leaf32(B, Nk, C)
    g = None
    if with_graph:
        fq = torch.rand(B, Nq, 4) * 2 - 1
        fk = fq if Nq == Nk else torch.rand(B, Nk, 4) * 2 - 1
        g = stgt_graph(fq, fk, 3, Nq == Nk)
        assert (g == 0).any() and (g != 0).any()
    out, att = attention(q, k, v, heads, g)
    gout = (torch.rand_like(out) * 2 - 1).float().double()
    out.backward(gout)
    for t in (out, att, q.grad, k.grad, v.grad):
        assert torch.isfinite(t).all()
    d = dict(q=q, k=k, v=v, out=out, att=att, gout=gout, gq=q.grad, gk=k.grad, gv=v.grad,
             heads=torch.tensor([float(heads)]))
    if g is not None:
        d["graph"] = g
    tensors.update({name + "." + key: val for key, val in d.items()})

save(out_path(), tensors)
