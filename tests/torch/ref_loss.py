"""PyTorch reference for the losses (tests/test-ops-loss.c), in float64.

softmax_xent: -(t * log_softmax(x)).sum(-1).mean() over rows of [..., C], with
targets that need not sum to 1 (soft), one-hot targets (== F.cross_entropy), and
large logits (log-sum-exp stability).  mse: F.mse_loss (mean reduction).
The upstream gradient of each scalar loss is `dloss`.
"""
import torch
import torch.nn.functional as F
from svref import leaf, out_path, save


def f32(t):
    """Round to float32 values (what the C test reads) and make a fresh leaf."""
    return t.detach().float().double().requires_grad_(True)


DLOSS = 0.8
dloss = torch.tensor([DLOSS])
out = {"dloss": dloss}


def xent(x, t):
    return -(t * F.log_softmax(x, dim=-1)).sum(-1).mean()


# soft targets, 3-D logits, rows not summing to 1
x = f32(leaf(3, 5, 11, lo=-3.0, hi=3.0))
t = torch.rand(3, 5, 11).float().double()
loss = xent(x, t)
(loss * DLOSS).backward()
out.update(x_soft=x, t_soft=t, loss_soft=loss.reshape(1), gx_soft=x.grad)

# one-hot targets: must equal the standard cross-entropy
x = f32(leaf(9, 17, lo=-3.0, hi=3.0))
labels = torch.randint(0, 17, (9,))
t = F.one_hot(labels, 17).double()
loss = xent(x, t)
ce = F.cross_entropy(x.detach(), labels)
assert abs(loss.item() - ce.item()) < 1e-12
(loss * DLOSS).backward()
out.update(x_onehot=x, t_onehot=t, loss_onehot=loss.reshape(1), gx_onehot=x.grad)

# large logits: normalised soft targets
x = f32(leaf(4, 6, lo=-500.0, hi=500.0))
t = torch.softmax(torch.rand(4, 6) * 4, dim=-1).float().double()
loss = xent(x, t)
(loss * DLOSS).backward()
out.update(x_big=x, t_big=t, loss_big=loss.reshape(1), gx_big=x.grad)

# mse
a = f32(leaf(4, 9, 7, lo=-2.0, hi=2.0))
b = f32(leaf(4, 9, 7, lo=-2.0, hi=2.0))
loss = F.mse_loss(a, b)
(loss * DLOSS).backward()
out.update(a=a, b=b, loss_mse=loss.reshape(1), ga=a.grad, gb=b.grad)

save(out_path(), out)
