"""PyTorch reference for the optimisers (tests/test-optim.c, /torch/ cases).

A few parameters whose names do and do not take weight decay (two torch param
groups), random float32 gradients for 5 steps (scaled so that clipping acts on
some steps and not on others), and for each case (SGD with momentum 0.9 and
AdamW, each with and without clip_grad_norm_) the parameters after every step,
the pre-clip gradient norms and the learning rates of a linear warm-up + cosine
schedule.  Also the schedule alone, for several configurations, at every step.

Everything runs in float64 on values that are exactly float32.
"""
import math

import torch
from svref import out_path, save

# (name, shape, takes weight decay)
PARAMS = [
    ("video.blocks.0.attn.q.weight", (6, 5), True),
    ("video.blocks.0.attn.q.bias", (6,), False),
    ("video.blocks.0.ln1.weight", (5,), False),
    ("video.norm.bias", (5,), False),
    ("video.norm_groups.weight", (5,), False),
    ("text.token_embed", (9, 4), False),
    ("text.pos_embed", (7, 4), False),
    ("video.pos_temporal", (3, 5), False),
    ("video.group_tokens", (2, 5), False),
    ("video.patch_embed.weight", (5, 12), True),
    ("text.proj.weight", (4, 3), True),
    # more than one 8192-element chunk of the C gradient norm
    ("video.blocks.1.mlp.fc1.weight", (100, 200), True),
]
STEPS = 5
GRAD_SCALE = [0.01, 1.0, 0.03, 2.0, 0.05]  # global norms ~0.8, 82, 2.5, 160, 4
MAX_NORM = 5.0
WD = 0.05
# schedule of the optimiser cases: (base, min, warmup_ratio, total, warmup_steps)
CASES = {
    "sgd_clip": ("sgd", MAX_NORM, (0.1, 0.0, 0.1, 20, -1)),
    "sgd_noclip": ("sgd", 0.0, (0.1, 0.001, 0.1, 8, -1)),
    "adamw_clip": ("adamw", MAX_NORM, (0.01, 0.0, 0.1, 20, -1)),
    "adamw_noclip": ("adamw", 0.0, (0.01, 0.0001, 0.0, 6, -1)),
}
SCHEDULES = [
    (0.1, 0.0, 0.05, 100, -1),
    (1e-3, 1e-5, 0.05, 1000, -1),
    (0.5, 0.01, 0.0, 10, -1),
    (0.1, 0.0, 0.3, 7, -1),
    (0.2, 0.0, 0.05, 50, 5),
    (0.3, 0.0, 2.0, 4, -1),
    (0.1, 0.0, 0.05, 0, -1),
]


def lr_at(sched, step):
    """Linear warm-up over round(ratio * total) steps, then cosine to min_lr."""
    base, min_lr, ratio, total, warmup = sched
    if total <= 0:
        return base
    step = max(step, 0)
    w = warmup if warmup >= 0 else int(math.floor(max(ratio, 0.0) * total + 0.5))
    w = min(max(w, 0), total)
    if step < w:
        return base * (step + 1) / w
    if step >= total:
        return min_lr
    progress = (step - w) / (total - w)
    return min_lr + (base - min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))


def f32(t):
    return t.to(torch.float32).to(torch.float64)


tensors = {}
init = {}
grads = []
for name, shape, _ in PARAMS:
    init[name] = f32(torch.rand(*shape) * 2 - 1)
    tensors["p0." + name] = init[name]
for k in range(STEPS):
    gk = {}
    for name, shape, _ in PARAMS:
        gk[name] = f32((torch.rand(*shape) * 2 - 1) * GRAD_SCALE[k])
        tensors["g%d.%s" % (k, name)] = gk[name]
    grads.append(gk)
tensors["decays"] = torch.tensor([int(d) for _, _, d in PARAMS], dtype=torch.int32)

meta = {"names": ",".join(n for n, _, _ in PARAMS), "cases": ",".join(CASES),
        "n_schedules": len(SCHEDULES)}
for case, (kind, max_norm, sched) in CASES.items():
    params = {n: init[n].clone().requires_grad_(True) for n, _, _ in PARAMS}
    decay = [params[n] for n, _, d in PARAMS if d]
    nodecay = [params[n] for n, _, d in PARAMS if not d]
    groups = [{"params": decay, "weight_decay": WD}, {"params": nodecay, "weight_decay": 0.0}]
    if kind == "sgd":
        opt = torch.optim.SGD(groups, lr=sched[0], momentum=0.9)
    else:
        opt = torch.optim.AdamW(groups, lr=sched[0], betas=(0.9, 0.999), eps=1e-8)
    norms, lrs = [], []
    for k in range(STEPS):
        for n, _, _ in PARAMS:
            params[n].grad = grads[k][n].clone()
        lr = lr_at(sched, k)
        for g in opt.param_groups:
            g["lr"] = lr
        all_params = [params[n] for n, _, _ in PARAMS]
        if max_norm > 0:
            norm = torch.nn.utils.clip_grad_norm_(all_params, max_norm)
        else:
            norm = torch.linalg.vector_norm(torch.cat([p.grad.reshape(-1) for p in all_params]))
        norms.append(float(norm))
        lrs.append(lr)
        opt.step()
        for n, _, _ in PARAMS:
            tensors["%s.p%d.%s" % (case, k + 1, n)] = params[n].detach().clone()
    tensors[case + ".norm"] = torch.tensor(norms)
    tensors[case + ".lr"] = torch.tensor(lrs)
    meta[case] = "%s %r %r %r %r %r %d %d" % ((kind, max_norm, WD) + sched)

for j, sched in enumerate(SCHEDULES):
    meta["sched%d" % j] = "%r %r %r %d %d" % sched
    tensors["sched%d.lr" % j] = torch.tensor([lr_at(sched, s) for s in range(-1, sched[3] + 3)])

save(out_path(), tensors, meta)
