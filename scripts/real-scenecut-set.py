#!/usr/bin/python3
"""A scene-cut test set from real footage, labels by construction (issue 7).

Shots are cut from real videos (the ones scripts/real-scenecut-set.sh takes from
Debian packages) and joined with hard cuts, dissolves and fades; inside some shots a
flash (a few frames blown towards white) or a fast pan (the picture sliding sideways
over a few frames) is added as a trap: a detector that cuts there is wrong.  Each
output video gets a truth file in svilm-train synth's format (width, height, frames,
fps, scenes, boundaries with kind and length; svilm-train eval --task scenecut reads
it) plus "traps" (frame, kind, length), and a line in manifest.jsonl.

    real-scenecut-set.py --out DIR [--videos N] [--seed S] SOURCE...

Needs python3-gi (GStreamer) and python3-numpy; test-time tooling, not a runtime part.
"""
import argparse
import json
import os
import random
import sys

import gi
import numpy as np

gi.require_version("Gst", "1.0")
gi.require_version("GstApp", "1.0")
from gi.repository import Gst, GstApp  # noqa: E402

W, H, FPS = 320, 240, 25


def decode(path, max_frames=900):
    """All frames of a video (at most max_frames) as uint8 [n, H, W, 3], resampled to
    FPS and scaled into W x H (aspect kept, black borders)."""
    desc = (
        f'filesrc location="{path}" ! decodebin ! videoconvert ! videorate ! videoscale '
        f"add-borders=true ! video/x-raw,format=RGB,width={W},height={H},"
        f"framerate={FPS}/1,pixel-aspect-ratio=1/1 ! appsink name=sink sync=false"
    )
    pipe = Gst.parse_launch(desc)
    sink = pipe.get_by_name("sink")
    pipe.set_state(Gst.State.PLAYING)
    frames = []
    while len(frames) < max_frames:
        sample = sink.emit("try-pull-sample", 10 * Gst.SECOND)
        if sample is None:
            break
        buf = sample.get_buffer()
        ok, info = buf.map(Gst.MapFlags.READ)
        if not ok:
            break
        stride = len(info.data) // H
        a = np.frombuffer(info.data, np.uint8).reshape(H, stride)[:, : W * 3]
        frames.append(a.reshape(H, W, 3).copy())
        buf.unmap(info)
    pipe.set_state(Gst.State.NULL)
    return np.stack(frames) if frames else np.zeros((0, H, W, 3), np.uint8)


def encode(frames, path):
    """frames [n, H, W, 3] uint8 -> H.264 in MP4 at FPS."""
    desc = (
        f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={W},height={H},"
        f"framerate={FPS}/1 ! videoconvert ! x264enc speed-preset=fast key-int-max=250 "
        f'! mp4mux ! filesink location="{path}"'
    )
    pipe = Gst.parse_launch(desc)
    src = pipe.get_by_name("src")
    pipe.set_state(Gst.State.PLAYING)
    dur = Gst.SECOND // FPS
    for i, f in enumerate(frames):
        b = Gst.Buffer.new_wrapped(f.tobytes())
        b.pts = i * dur
        b.duration = dur
        if src.emit("push-buffer", b) != Gst.FlowReturn.OK:
            raise RuntimeError(f"{path}: the encoder refused frame {i}")
    src.emit("end-of-stream")
    bus = pipe.get_bus()
    msg = bus.timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipe.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        raise RuntimeError(f"{path}: encoding failed")


def flash(shot, at, n):
    """frames at..at+n-1 blown towards white (a camera flash): up, then back down."""
    for k in range(n):
        a = 0.85 * (1.0 - abs(k - (n - 1) / 2) / (n / 2 + 0.5))
        f = shot[at + k].astype(np.float32)
        shot[at + k] = np.clip(f + a * (255.0 - f), 0, 255).astype(np.uint8)


def pan(shot, at, n):
    """frames from at on slide sideways by up to half the width over n frames (a fast
    pan over a still scene: the same picture, moved), edges repeated."""
    step = W // 2 // n
    for k in range(at, len(shot)):
        dx = step * min(k - at + 1, n)
        f = shot[k]
        shot[k] = np.concatenate([f[:, dx:], np.repeat(f[:, -1:], dx, axis=1)], axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--videos", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("sources", nargs="+")
    args = ap.parse_args()
    Gst.init(None)
    rng = random.Random(args.seed)

    sources = []
    for p in args.sources:
        fr = decode(p)
        if len(fr) < 30:
            print(f"real-scenecut-set: skipping {p} ({len(fr)} frames)", file=sys.stderr)
            continue
        sources.append((os.path.basename(p), fr))
        print(f"real-scenecut-set: {os.path.basename(p)}: {len(fr)} frames")
    if len(sources) < 2:
        sys.exit("real-scenecut-set: fewer than two usable source videos")

    os.makedirs(os.path.join(args.out, "videos"), exist_ok=True)
    os.makedirs(os.path.join(args.out, "truth"), exist_ok=True)
    manifest = []
    kinds = {"cut": 0, "dissolve": 0, "fade": 0, "flash": 0, "pan": 0}
    for v in range(args.videos):
        n_shots = rng.randint(3, 5)
        picks = rng.sample(range(len(sources)), min(n_shots, len(sources)))
        shots, names = [], []
        for s in picks:
            name, fr = sources[s]
            n = rng.randint(min(40, len(fr)), min(90, len(fr)))
            a = rng.randint(0, len(fr) - n)
            shot = fr[a : a + n].copy()
            trap = rng.random()
            traps = []
            if trap < 0.3:  # a flash in the middle of the shot
                at, k = rng.randint(12, n - 8), rng.randint(2, 4)
                flash(shot, at, k)
                traps.append(("flash", at, k))
            elif trap < 0.5:
                at, k = rng.randint(12, n - 12), rng.randint(6, 10)
                pan(shot, at, k)
                traps.append(("pan", at, k))
            shots.append((shot, traps))
            names.append(f"{name}@{a}")
        frames, scenes, bounds, trap_list = [], [], [], []
        for i, (shot, traps) in enumerate(shots):
            start = len(frames)
            if i == 0:
                frames.extend(shot)
            else:
                kind = rng.choice(["cut", "cut", "dissolve", "fade"])
                length = 0 if kind == "cut" else rng.randint(6, 12)
                prev = np.stack(frames[len(frames) - length :]) if length else None
                if length:  # the transition replaces the last `length` frames of the old shot
                    del frames[len(frames) - length :]
                b = len(frames)
                for k in range(length):
                    t = (k + 1) / (length + 1)
                    old, new = prev[k].astype(np.float32), shot[k].astype(np.float32)
                    if kind == "dissolve":
                        f = (1 - t) * old + t * new
                    elif t < 0.5:
                        f = (1 - 2 * t) * old
                    else:
                        f = (2 * t - 1) * new
                    frames.append(np.clip(f, 0, 255).astype(np.uint8))
                frames.extend(shot[length:])
                bounds.append({"frame": b, "kind": kind, "length": length})
                kinds[kind] += 1
                scenes[-1]["end"] = b
                start = b
            scenes.append({"start": start, "end": None, "source": names[i]})
            for kind, at, k in traps:
                trap_list.append({"frame": start + at, "kind": kind, "length": k})
                kinds[kind] += 1
        scenes[-1]["end"] = len(frames)
        vid = f"{v:04d}"
        encode(np.stack(frames), os.path.join(args.out, "videos", vid + ".mp4"))
        truth = {
            "id": vid,
            "path": f"videos/{vid}.mp4",
            "split": "test",
            "width": W,
            "height": H,
            "frames": len(frames),
            "fps": float(FPS),
            "scenes": scenes,
            "boundaries": bounds,
            "traps": trap_list,
        }
        with open(os.path.join(args.out, "truth", vid + ".json"), "w") as f:
            json.dump(truth, f)
        manifest.append(
            {"id": vid, "path": f"videos/{vid}.mp4", "split": "test", "truth": f"truth/{vid}.json"}
        )
        print(f"real-scenecut-set: {vid}.mp4: {len(frames)} frames, {len(bounds)} transitions, "
              f"{len(trap_list)} traps")
    with open(os.path.join(args.out, "manifest.jsonl"), "w") as f:
        for m in manifest:
            f.write(json.dumps(m) + "\n")
    print(f"real-scenecut-set: {args.videos} videos in {args.out}: "
          + ", ".join(f"{k} {n}" for k, n in kinds.items()))


if __name__ == "__main__":
    main()
