"""Shared helpers for the PyTorch reference scripts (test-time only).

Each ref_<family>.py builds inputs with a fixed seed, runs torch forward and
autograd backward in float64, and saves inputs, outputs and gradients as
float32 (ids as int32) into one safetensors file for the C test to compare.
"""
import json
import struct
import sys

import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float64)


def save(path, tensors, metadata=None):
    """Write a dict name -> tensor as safetensors (F32 / I32, little-endian)."""
    header = {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name]
        if not isinstance(t, torch.Tensor):
            t = torch.tensor(t)
        t = t.detach().cpu().contiguous()
        if t.dtype in (torch.int32, torch.int64, torch.int16, torch.int8, torch.uint8, torch.bool):
            t = t.to(torch.int32)
            dtype = "I32"
        else:
            t = t.to(torch.float32)
            dtype = "F32"
        raw = t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    hj = json.dumps(header, separators=(",", ":")).encode()
    hj += b" " * ((8 - len(hj) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hj)))
        f.write(hj)
        for b in blobs:
            f.write(b)


def out_path():
    if len(sys.argv) != 2:
        sys.exit("usage: %s OUT.safetensors" % sys.argv[0])
    return sys.argv[1]


def leaf(*shape, lo=-1.0, hi=1.0):
    """A random float64 leaf tensor requiring grad."""
    return (torch.rand(*shape) * (hi - lo) + lo).requires_grad_(True)


def load(path):
    """Read a safetensors file: returns (dict name -> float64/int64 tensor, metadata dict)."""
    import numpy as np
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    meta = header.pop("__metadata__", {})
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = {"F32": np.float32, "I32": np.int32}[e["dtype"]]
        arr = np.frombuffer(data[b:end], dtype=np.dtype(dt).newbyteorder("<")).reshape(e["shape"])
        t = torch.from_numpy(arr.copy())
        out[name] = t.to(torch.float64) if e["dtype"] == "F32" else t.to(torch.int64)
    return out, meta
