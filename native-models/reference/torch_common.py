"""DEV TOOL — not shipped, not imported by the app, not needed by the test suite.

What the PyTorch oracles (torch_llava.py, torch_qwen.py, torch_instructblip.py) share and that is not
any one family's model math: the safetensors format (read and write), config defaults, transformers'
activation table, RMSNorm and rotate_half, FusionScope's interventions resolved into per-layer edits,
and the per-run result dict. Needs only torch and numpy; no engine or TypeScript code.
"""

import json
import struct

import numpy as np
import torch
import torch.nn.functional as F

DTYPE = torch.float64


def with_defaults(defaults, raw):
    """`Config(**raw)`: keys present in config.json (null included) override the defaults."""
    merged = dict(defaults)
    merged.update(raw)
    return merged


# ---------------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------------


def read_safetensors(path):
    """Every tensor of one safetensors file (F64/F32/F16/BF16), as float64, by name."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise SystemExit(f"{path}: too short for a safetensors file")
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + header_len].decode("utf-8"))
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        raw = blob[base + start : base + end]
        if len(raw) != end - start:
            raise SystemExit(f"{path}: tensor {name} runs past the end of the file")
        dtype = info["dtype"]
        if dtype == "F64":
            values = np.frombuffer(raw, dtype="<f8")
        elif dtype == "F32":
            values = np.frombuffer(raw, dtype="<f4")
        elif dtype == "F16":
            values = np.frombuffer(raw, dtype="<f2")
        elif dtype == "BF16":
            # bfloat16 is the top half of a float32: shift the 16 bits into place and reinterpret.
            values = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise SystemExit(f"{path}: tensor {name} has unsupported dtype {dtype}")
        shape = info["shape"]
        if values.size != int(np.prod(shape, dtype=np.int64)):
            raise SystemExit(f"{path}: tensor {name} holds {values.size} values, shape {shape}")
        tensors[name] = torch.from_numpy(values.astype(np.float64).reshape(shape))
    return tensors


def read_safetensors_header(path):
    """The header of a safetensors file without its __metadata__ entry."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    header.pop("__metadata__", None)
    return header


def write_safetensors(path, tensors):
    """Writes [(name, dtype, shape, raw little-endian bytes)] in that order: compact JSON header with
    {"__metadata__": {"format": "pt"}} first, space-padded to a multiple of 8 bytes."""
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(encoded)))
        f.write(encoded)
        for _, _, _, raw in tensors:
            f.write(raw)


# ---------------------------------------------------------------------------------------------------
# Layers every family uses
# ---------------------------------------------------------------------------------------------------


def activation(name):
    # transformers' ACT2FN, the entries these checkpoints use.
    if name == "gelu":
        return lambda x: F.gelu(x)
    if name in ("gelu_pytorch_tanh", "gelu_new"):
        return lambda x: F.gelu(x, approximate="tanh")
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name in ("silu", "swish"):
        return F.silu
    if name == "relu":
        return F.relu
    raise SystemExit(f"unsupported activation {name!r}")


def rms_norm(x, weight, eps):
    return weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


# ---------------------------------------------------------------------------------------------------
# FusionScope's interventions and the run result
# ---------------------------------------------------------------------------------------------------


def intervention_edits(interventions, span, layers):
    """Per layer: the knocked-out key positions (lists) and the (positions, scale) hidden edits.
    `tokens` index the image span [start, end) (default: all of them)."""
    start, end = span
    length = end - start
    knockouts = {l: [] for l in range(layers)}
    scales = {l: [] for l in range(layers)}
    for iv in interventions:
        tokens = iv.get("tokens")
        if tokens is None:
            tokens = list(range(length))
        if any(not (0 <= tok < length) for tok in tokens):
            raise SystemExit(f"intervention tokens {tokens} outside the image span of {length}")
        pos = [start + tok for tok in tokens]
        for l in iv["layers"]:
            if not (0 <= l < layers):
                raise SystemExit(f"intervention layer {l} outside 0..{layers - 1}")
            if iv["mode"] == "knockout":
                knockouts[l].append(pos)
            elif iv["mode"] == "hidden":
                scales[l].append((pos, float(iv.get("scale", 0.0))))
            else:
                raise SystemExit(f"unknown intervention mode {iv['mode']!r}")
    return knockouts, scales


def run_result(logits, attention, hidden):
    """One run's JSON: last-position logits, per-layer attention to the image, per-layer hidden."""
    return {
        "logits": logits.tolist(),
        "attention": [a.tolist() for a in attention],
        "hidden": [h.tolist() for h in hidden],
    }
