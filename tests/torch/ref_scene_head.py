"""PyTorch reference for the scene head (svilm-core/sv-scene-head.h, tests/test-scene-head.c).

Windows of Nt = 4 unit-length slice features of D = 16; for every pair of slices i < k the
head's input is [a, b, a * b, |a - b|, onehot(pair)], then Linear -> GELU (erf) -> Linear
to 2 logits, softmax cross-entropy against 0/1 labels, mean over the pairs.
"""
import itertools

import torch
from svref import leaf, out_path, save

NW, NT, D, H = 5, 4, 16, 8
pairs = list(itertools.combinations(range(NT), 2))  # (0,1), (0,2), .., (2,3)

slices = torch.nn.functional.normalize(torch.randn(NW, NT, D), dim=-1)
rows = []
for w in range(NW):
    for p, (i, k) in enumerate(pairs):
        a, b = slices[w, i], slices[w, k]
        onehot = torch.zeros(len(pairs))
        onehot[p] = 1.0
        rows.append(torch.cat([a, b, a * b, (a - b).abs(), onehot]))
x = torch.stack(rows)  # [NW * pairs, 4D + pairs]
y = (torch.rand(x.shape[0]) < 0.3).to(torch.float64)

w1 = leaf(H, x.shape[1], lo=-0.3, hi=0.3)
b1 = leaf(H, lo=-0.1, hi=0.1)
w2 = leaf(2, H, lo=-0.5, hi=0.5)
b2 = leaf(2, lo=-0.1, hi=0.1)
h = torch.nn.functional.gelu(torch.nn.functional.linear(x, w1, b1))
logits = torch.nn.functional.linear(h, w2, b2)
loss = torch.nn.functional.cross_entropy(logits, y.long())
loss.backward()
probs = torch.softmax(logits, dim=-1)[:, 1]

save(out_path(), dict(slices=slices, x=x, y=y, w1=w1, b1=b1, w2=w2, b2=b2, probs=probs,
                      loss=loss.reshape(1), gw1=w1.grad, gb1=b1.grad, gw2=w2.grad, gb2=b2.grad))
