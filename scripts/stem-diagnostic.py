#!/usr/bin/env python3
"""Can a video stem learn shape on the synthetic corpus?  A supervised check in PyTorch
(docs/training.md, "A convolutional stem").

    /usr/bin/python3 scripts/stem-diagnostic.py MANIFEST.jsonl STEM [EPOCHS] [LR] [TARGET]

Trains a transformer of the `tiny` video encoder's shape (width 128, 4 layers, 4 heads,
tokens of 2 frames x 8 x 8 pixels, mean-pooled) from scratch to name the object of every
one-object, one-scene video of the training split (13 nouns), and prints the accuracy on
its training clips and on the test split every 5 epochs.  STEM is what turns pixels into
tokens:

  patch  the linear tubelet embedding (ViT's; the model without "stem")
  mlp    4x4 sub-patches, a shared linear map and GELU, then 2x2 of them merged: the same
         pixels per token and non-linear, but no overlap between neighbours
  conv   two 3x3 convolutions at stride 2 (32, 64 channels) with GELU, then 2x2x2
         tubelets: the model's "stem": [32, 64]

TARGET is what is named: `noun` (the default, above) or `motion` (the object's motion, 8
classes: left ... bouncing), which reads all eight frames of the clip (256 tokens).

For nouns, each step reads two consecutive frames of the eight a clip is sampled to (a random pair
in training, the middle pair in evaluation: 64 tokens, so that it runs in minutes on two
cores).  Videos are decoded with gst-launch-1.0 into DIR/.stem-diagnostic/ next to the
manifest (kept for the next run).  PyTorch is a test-time tool here, never a dependency
of svilm.
"""
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def decode(base, cache, vid_id, path):
    raw = os.path.join(cache, vid_id + ".raw")
    if not os.path.exists(raw):
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", "location=" + os.path.join(base, path),
                        "!", "decodebin", "!", "videoconvert", "!", "video/x-raw,format=RGB", "!",
                        "filesink", "location=" + raw + ".part"], check=True)
        os.replace(raw + ".part", raw)
    return raw


def load(manifest, target):
    base = os.path.dirname(os.path.abspath(manifest))
    cache = os.path.join(base, ".stem-diagnostic")
    os.makedirs(cache, exist_ok=True)
    clips = {"train": [], "test": []}
    with open(manifest) as f:
        for line in f:
            e = json.loads(line)
            if e["split"] not in clips:
                continue
            with open(os.path.join(base, e["truth"])) as tf:
                t = json.load(tf)
            if len(t["scenes"]) != 1 or len(t["objects"]) != 1:
                continue
            raw = decode(base, cache, e["id"], e["path"])
            h, w = t["height"], t["width"]
            a = np.fromfile(raw, np.uint8).reshape(-1, h, w, 3)
            idx = np.linspace(0, len(a) - 1, 8).round().astype(int)  # 8 frames a clip
            clips[e["split"]].append((a[idx], t["objects"][0][target]))
    nouns = sorted({n for s in clips.values() for _, n in s})

    def tensors(items):
        x = torch.tensor(np.stack([a for a, _ in items])).float().div(255)
        x = x.sub(0.45).div(0.225).permute(0, 4, 1, 2, 3).contiguous()  # [B, 3, T, H, W]
        return x, torch.tensor([nouns.index(n) for _, n in items])

    return tensors(clips["train"]), tensors(clips["test"]), nouns


class Block(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.n1, self.n2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = nn.MultiheadAttention(d, heads, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, mlp), nn.GELU(), nn.Linear(mlp, d))

    def forward(self, x):
        h = self.n1(x)
        x = x + self.att(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.n2(x))


class Encoder(nn.Module):
    def __init__(self, stem, n_classes, tokens, d=128, depth=4):
        super().__init__()
        if stem == "patch":
            self.embed = nn.Conv3d(3, d, (2, 8, 8), (2, 8, 8))
        elif stem == "mlp":
            self.embed = nn.Sequential(nn.Conv3d(3, 48, (2, 4, 4), (2, 4, 4)), nn.GELU(),
                                       nn.Conv3d(48, d, (1, 2, 2), (1, 2, 2)))
        elif stem == "conv":
            self.embed = nn.Sequential(nn.Conv3d(3, 32, (1, 3, 3), (1, 2, 2), (0, 1, 1)), nn.GELU(),
                                       nn.Conv3d(32, 64, (1, 3, 3), (1, 2, 2), (0, 1, 1)), nn.GELU(),
                                       nn.Conv3d(64, d, (2, 2, 2), (2, 2, 2)))
        else:
            sys.exit("STEM must be patch, mlp or conv, not " + stem)
        self.pos = nn.Parameter(torch.randn(1, tokens, d) * 0.02)
        self.blocks = nn.Sequential(*[Block(d, 4, 4 * d) for _ in range(depth)])
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, n_classes)

    def forward(self, x):
        x = self.embed(x).flatten(2).transpose(1, 2) + self.pos
        return self.head(self.norm(self.blocks(x)).mean(1))


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__.strip().splitlines()[3].strip())
    manifest, stem = sys.argv[1], sys.argv[2]
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    lr = float(sys.argv[4]) if len(sys.argv) > 4 else 1e-3
    target = sys.argv[5] if len(sys.argv) > 5 else "noun"
    if target not in ("noun", "motion"):
        sys.exit("TARGET must be noun or motion, not " + target)
    span = 8 if target == "motion" else 2  # frames a step reads
    torch.manual_seed(0)
    np.random.seed(0)
    (xtr, ytr), (xte, yte), nouns = load(manifest, target)
    chance = np.bincount(yte.numpy()).max() / len(yte)
    print(f"{len(xtr)} training clips, {len(xte)} test clips, {len(nouns)} {target}s, "
          f"majority class {chance * 100:.1f} %", flush=True)
    tokens = (span // 2) * (xtr.shape[3] // 8) * (xtr.shape[4] // 8)
    m = Encoder(stem, len(nouns), tokens)
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.05)
    batch = 32
    steps = epochs * (len(xtr) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)
    t0 = time.time()
    for ep in range(epochs):
        m.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr) - batch + 1, batch):
            b = perm[i:i + batch]
            t = np.random.randint(0, 4) * 2 if span == 2 else 0
            loss = F.cross_entropy(m(xtr[b][:, :, t:t + span]), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        if ep % 5 == 4 or ep == epochs - 1:
            m.eval()
            with torch.no_grad():
                t = 4 if span == 2 else 0
                tr = (m(xtr[:500, :, t:t + span]).argmax(1) == ytr[:500]).float().mean().item()
                te = (m(xte[:, :, t:t + span]).argmax(1) == yte).float().mean().item()
            print(f"{stem} epoch {ep + 1}: loss {loss.item():.3f}, train {tr * 100:.1f} %, "
                  f"test {te * 100:.1f} % ({time.time() - t0:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
