"""PyTorch side of bench-model: the reference model (tests/reference/svilm_ref.py)
in float32 with the same weights, inputs and thread count as the C run.

    bench_torch.py MODEL BATCH MODE THREADS SECONDS
MODE: video (encoder forward, no grad) | text (text encoder forward over the batch's
captions and phrases, no grad) | train (forward + backward + SGD step).
Prints one JSON object: seconds per call and the loss (train).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "reference"))
import torch  # noqa: E402
import svilm_ref as ref  # noqa: E402

ref.CHECK_TIES = False


def timeit(fn, seconds):
    fn()
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        el = time.perf_counter() - t0
        if el >= seconds:
            return el / n


def main():
    model_path, batch_path, mode, threads, seconds = sys.argv[1:6]
    torch.set_num_threads(int(threads))
    torch.set_default_dtype(torch.float32)
    P, meta = ref.load(model_path)
    c = json.loads(meta["config"])
    P = {k: v.to(torch.float32) for k, v in P.items()}
    b, _ = ref.load(batch_path)
    b = {k: (v.to(torch.float32) if v.is_floating_point() else v) for k, v in b.items()}
    out = {"mode": mode, "threads": int(threads), "torch": torch.__version__}
    if mode == "video":
        noises = [torch.zeros(b["video"].shape[0], c["n_groups"],
                              (c["frames"] // c["tubelet_t"]) * (c["height"] // c["patch"]) *
                              (c["width"] // c["patch"]))] * len(c["group_after"])
        with torch.no_grad():
            out["seconds"] = timeit(lambda: ref.video_encoder(P, c, b["video"], noises), float(seconds))
    elif mode == "text":
        with torch.no_grad():
            out["seconds"] = timeit(lambda: ref.text_encoder(P, c, b["ids"], b["mask"]),
                                    float(seconds))
    else:
        for v in P.values():
            v.requires_grad_(True)
        opt = torch.optim.SGD(list(P.values()), lr=0.0, momentum=0.9)
        B = b["video"].shape[0]
        noises = list(b["noise"])
        losses = []

        def step():
            opt.zero_grad()
            z, gp, fv = ref.video_encoder(P, c, b["video"], noises)
            f = ref.text_encoder(P, c, b["ids"], b["mask"])
            loss = (ref.temporal_loss(z, b["fg"], c) + ref.grounding_loss(gp, f[B:], b["Wv"], c) +
                    ref.contrast_loss(fv, f[:B], b["Wv"], c))
            loss.backward()
            opt.step()
            losses.append(float(loss))
        out["seconds"] = timeit(step, float(seconds))
        out["loss"] = losses[0]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
