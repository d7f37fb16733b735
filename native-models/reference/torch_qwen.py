#!/usr/bin/env python3
"""DEV TOOL — not shipped, not imported by the app, not needed by the test suite.

An independent PyTorch (float64) implementation of transformers' Qwen2VLForConditionalGeneration and
Qwen2_5_VLForConditionalGeneration forward passes for one still image, preprocessing included,
written from the semantics of image_processing_qwen2_vl.py, modeling_qwen2_vl.py and
modeling_qwen2_5_vl.py (no transformers): the second oracle, beside the TypeScript float64 reference
(native-models/reference/qwen2vl.ts), for the engine's Qwen graphs.

Where the TS reference states things its own way, this file follows transformers' formulation, so the
two check each other:
  - preprocessing with Pillow itself (Image.resize BICUBIC) and numpy's reshape/transpose flattening;
  - the vision tower's 2-D rotary table built as rot_pos_emb does (hpos/wpos reshaped by merge blocks,
    a [max_grid, dv/4] table indexed by them), the Qwen2.5 windows as get_window_index builds them
    (window_index permutation, cu_window_seqlens, unique_consecutive), the tokens permuted into window
    order, attention per cu_seqlens segment, the merger, then argsort to restore the order;
  - get_rope_index and apply_multimodal_rotary_pos_emb (cos/sin per stream, split by mrope_section*2).

Also writes the random checkpoint of a fixture (`weights` command): every tensor transformers' Qwen
classes name, from torch's own generator, so the engine tests load a checkpoint no TypeScript code
wrote.

Usage:
  python3 torch_qwen.py weights FOLDER SEED DTYPE(F32|BF16) LAYOUT(legacy|modern)
  python3 torch_qwen.py run REQUEST.json  -> result JSON on stdout
Request: {"model": folder, "input_ids": [unexpanded ids, one <|image_pad|>], "rgb": [bytes HWC],
          "width": w, "height": h, "runs": {name: [interventions as in torch_llava.py]}}
Result:  {"expanded_ids", "image_span", "grid": [t, h, w], "positions": [3][T],
          "runs": {name: {"logits", "attention" [layer][image token] (head mean), "hidden" [layer][D]}}}
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_common import (  # noqa: E402  (the oracles' shared helpers)
    DTYPE,
    activation,
    intervention_edits,
    read_safetensors,
    rms_norm,
    rotate_half,
    run_result,
    write_safetensors,
)


# ---------------------------------------------------------------------------------------------------
# Config
# ---------------------------------------------------------------------------------------------------


def parse_config(raw):
    family = raw["model_type"]
    if family not in ("qwen2_vl", "qwen2_5_vl"):
        raise SystemExit(f"unsupported model_type {family!r}")
    text = raw.get("text_config") or raw
    vision = raw["vision_config"]
    rope = text.get("rope_scaling") or text.get("rope_parameters") or {}
    heads = text["num_attention_heads"]
    head_dim = text["hidden_size"] // heads
    section = rope.get("mrope_section")
    if section is None or sum(section) != head_dim // 2:
        raise SystemExit(f"mrope_section {section} does not sum to head_dim/2 = {head_dim // 2}")
    qwen25 = family == "qwen2_5_vl"
    cfg = dict(
        family=family,
        image_token_id=raw.get("image_token_id", 151655),
        vision_start_token_id=raw.get("vision_start_token_id", 151652),
        vocab=text["vocab_size"],
        hidden=text["hidden_size"],
        inner=text["intermediate_size"],
        layers=text["num_hidden_layers"],
        heads=heads,
        kv_heads=text["num_key_value_heads"],
        head_dim=head_dim,
        eps=text.get("rms_norm_eps", 1e-6),
        theta=text.get("rope_theta", 1000000.0),
        section=section,
        tie=text.get("tie_word_embeddings", raw.get("tie_word_embeddings", False)),  # text_config wins
        v_depth=vision["depth"],
        v_heads=vision["num_heads"],
        v_patch=vision.get("patch_size", 14),
        v_merge=vision.get("spatial_merge_size", 2),
        v_temporal=vision.get("temporal_patch_size", 2),
        v_act=vision.get("hidden_act", "silu" if qwen25 else "quick_gelu"),
    )
    if qwen25:
        cfg.update(
            v_width=vision["hidden_size"],
            v_inner=vision["intermediate_size"],
            v_out=vision["out_hidden_size"],
            window_size=vision.get("window_size", 112),
            fullatt=vision.get("fullatt_block_indexes", [7, 15, 23, 31]),
        )
    else:
        cfg.update(
            v_width=vision["embed_dim"],
            v_inner=int(vision["embed_dim"] * vision.get("mlp_ratio", 4)),
            v_out=vision["hidden_size"],
        )
    return cfg


def tensor_shapes(cfg, layout):
    """Every tensor of the checkpoint, as transformers' Qwen classes name them."""
    qwen25 = cfg["family"] == "qwen2_5_vl"
    t = "model.language_model." if layout == "modern" else "model."
    v = "model.visual." if layout == "modern" else "visual."
    d, inner, p, tp = cfg["v_width"], cfg["v_inner"], cfg["v_patch"], cfg["v_temporal"]
    merged = d * cfg["v_merge"] ** 2
    shapes = {v + "patch_embed.proj.weight": [d, 3, tp, p, p]}

    def norm(name, size):
        shapes[name + ".weight"] = [size]
        if not qwen25:
            shapes[name + ".bias"] = [size]

    def lin(name, out, inp, bias=True):
        shapes[name + ".weight"] = [out, inp]
        if bias:
            shapes[name + ".bias"] = [out]

    for i in range(cfg["v_depth"]):
        b = f"{v}blocks.{i}."
        norm(b + "norm1", d)
        norm(b + "norm2", d)
        lin(b + "attn.qkv", 3 * d, d)
        lin(b + "attn.proj", d, d)
        if qwen25:
            lin(b + "mlp.gate_proj", inner, d)
            lin(b + "mlp.up_proj", inner, d)
            lin(b + "mlp.down_proj", d, inner)
        else:
            lin(b + "mlp.fc1", inner, d)
            lin(b + "mlp.fc2", d, inner)
    norm(v + "merger.ln_q", d)
    lin(v + "merger.mlp.0", merged, merged)
    lin(v + "merger.mlp.2", cfg["v_out"], merged)
    h, kv = cfg["hidden"], cfg["kv_heads"] * cfg["head_dim"]
    shapes[t + "embed_tokens.weight"] = [cfg["vocab"], h]
    for i in range(cfg["layers"]):
        b = f"{t}layers.{i}."
        lin(b + "self_attn.q_proj", h, h)
        lin(b + "self_attn.k_proj", kv, h)
        lin(b + "self_attn.v_proj", kv, h)
        lin(b + "self_attn.o_proj", h, h, bias=False)
        lin(b + "mlp.gate_proj", cfg["inner"], h, bias=False)
        lin(b + "mlp.up_proj", cfg["inner"], h, bias=False)
        lin(b + "mlp.down_proj", h, cfg["inner"], bias=False)
        shapes[b + "input_layernorm.weight"] = [h]
        shapes[b + "post_attention_layernorm.weight"] = [h]
    shapes[t + "norm.weight"] = [h]
    if not cfg["tie"]:
        shapes["lm_head.weight"] = [cfg["vocab"], h]
    return shapes


def write_weights(folder, seed, dtype, layout):
    with open(os.path.join(folder, "config.json")) as f:
        cfg = parse_config(json.load(f))
    gen = torch.Generator().manual_seed(seed)
    tensors = []
    for name, shape in sorted(tensor_shapes(cfg, layout).items()):
        x = torch.randn(*shape, generator=gen, dtype=torch.float32)
        if name.endswith("norm.weight") or "layernorm" in name or "norm1" in name or "norm2" in name or "ln_q.weight" in name:
            x = 1 + 0.1 * x
        elif name.endswith(".bias"):
            x = 0.1 * x
        elif name.endswith("embed_tokens.weight"):
            pass
        else:
            fan_in = int(np.prod(shape[1:]))
            gain = 1.6 if ("q_proj" in name or "k_proj" in name or "qkv" in name) else 1.0
            x = x * gain / math.sqrt(fan_in)
        if dtype == "BF16":
            # round to nearest even bfloat16: the top 16 bits of the float32 after rounding
            bits = x.contiguous().view(torch.int32).numpy().astype(np.int64) & 0xFFFFFFFF
            bits = (bits + 0x7FFF + ((bits >> 16) & 1)) >> 16
            raw = bits.astype("<u2").tobytes()
        else:
            raw = x.numpy().astype("<f4").tobytes()
        tensors.append((name, dtype, shape, raw))
    write_safetensors(os.path.join(folder, "model.safetensors"), tensors)


def load_state(folder):
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    # Qwen2VLForConditionalGeneration._checkpoint_conversion_mapping: legacy → modern names.
    out = {}
    for name, x in state.items():
        if name.startswith("visual."):
            name = "model." + name
        elif name.startswith("model.") and not name.startswith(("model.visual.", "model.language_model.")):
            name = "model.language_model." + name[len("model.") :]
        out[name] = x
    return out


# ---------------------------------------------------------------------------------------------------
# Preprocessing (Qwen2VLImageProcessor)
# ---------------------------------------------------------------------------------------------------


def smart_resize(height, width, factor, min_pixels, max_pixels):
    if max(height, width) / min(height, width) > 200:
        raise SystemExit("aspect ratio over 200")
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


def preprocess(folder, rgb, width, height):
    with open(os.path.join(folder, "preprocessor_config.json")) as f:
        pp = json.load(f)
    size = pp.get("size") or {}
    min_pixels = size.get("shortest_edge", pp.get("min_pixels"))
    max_pixels = size.get("longest_edge", pp.get("max_pixels"))
    patch, merge, temporal = pp["patch_size"], pp["merge_size"], pp["temporal_patch_size"]
    image = Image.frombytes("RGB", (width, height), bytes(rgb))
    rh, rw = smart_resize(height, width, patch * merge, min_pixels, max_pixels)
    if (rw, rh) != (width, height):
        image = image.resize((rw, rh), resample=pp.get("resample", 3))
    x = np.asarray(image).astype(np.float64) * pp["rescale_factor"]
    x = (x - np.array(pp["image_mean"])) / np.array(pp["image_std"])
    x = x.transpose(2, 0, 1)[None]  # [1, C, H, W]
    x = np.concatenate([x] * temporal, axis=0)  # one frame repeated to the temporal patch size
    gt, gh, gw = x.shape[0] // temporal, rh // patch, rw // patch
    x = x.reshape(gt, temporal, 3, gh // merge, merge, patch, gw // merge, merge, patch)
    x = x.transpose(0, 3, 6, 4, 7, 2, 1, 5, 8)
    flat = x.reshape(gt * gh * gw, 3 * temporal * patch * patch)
    return torch.from_numpy(np.ascontiguousarray(flat)), (gt, gh, gw)


# ---------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------


def rot_pos_emb(grid, merge, dv):
    t, h, w = grid
    hpos = torch.arange(h).unsqueeze(1).expand(-1, w)
    hpos = hpos.reshape(h // merge, merge, w // merge, merge).permute(0, 2, 1, 3).flatten()
    wpos = torch.arange(w).unsqueeze(0).expand(h, -1)
    wpos = wpos.reshape(h // merge, merge, w // merge, merge).permute(0, 2, 1, 3).flatten()
    pos_ids = torch.stack([hpos, wpos], dim=-1).repeat(t, 1)
    dim = dv // 2
    inv_freq = 1.0 / (10000 ** (torch.arange(0, dim, 2, dtype=DTYPE) / dim))
    table = torch.outer(torch.arange(max(h, w), dtype=DTYPE), inv_freq)
    return table[pos_ids].flatten(1)  # [N, dv/2]


def get_window_index(grid, cfg):
    t, h, w = grid
    merge = cfg["v_merge"]
    unit = merge * merge
    side = cfg["window_size"] // merge // cfg["v_patch"]
    lh, lw = h // merge, w // merge
    index = torch.arange(t * lh * lw).reshape(t, lh, lw)
    pad_h, pad_w = side - lh % side, side - lw % side
    nh, nw = (lh + pad_h) // side, (lw + pad_w) // side
    padded = F.pad(index, (0, pad_w, 0, pad_h), "constant", -100)
    padded = padded.reshape(t, nh, side, nw, side).permute(0, 1, 3, 2, 4).reshape(t, nh * nw, side, side)
    seqlens = (padded != -100).sum([2, 3]).reshape(-1)
    padded = padded.reshape(-1)
    window_index = padded[padded != -100]
    cu = [0] + (seqlens.cumsum(0) * unit).tolist()
    return window_index, torch.unique_consecutive(torch.tensor(cu))


def segment_attention(q, k, v, cu_seqlens):
    """Attention within each [cu[i], cu[i+1]) segment (q, k, v: [heads, N, dv])."""
    n = q.shape[1]
    mask = torch.full((n, n), float("-inf"), dtype=DTYPE)
    for a, b in zip(cu_seqlens[:-1].tolist(), cu_seqlens[1:].tolist()):
        mask[a:b, a:b] = 0
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(q.shape[-1]) + mask
    return torch.matmul(torch.softmax(scores, dim=-1), v)


def vision_tower(cfg, W, pixels, grid):
    qwen25 = cfg["family"] == "qwen2_5_vl"
    p = "model.visual."
    d, heads, merge = cfg["v_width"], cfg["v_heads"], cfg["v_merge"]
    dv = d // heads
    unit = merge * merge
    conv = W[p + "patch_embed.proj.weight"]
    x = F.conv3d(
        pixels.view(-1, 3, cfg["v_temporal"], cfg["v_patch"], cfg["v_patch"]),
        conv,
        stride=conv.shape[2:],
    ).view(-1, d)
    n = x.shape[0]
    rot = rot_pos_emb(grid, merge, dv)
    cu = torch.tensor([0, grid[1] * grid[2]])
    if qwen25:
        window_index, cu_window = get_window_index(grid, cfg)
        x = x.reshape(n // unit, unit, -1)[window_index].reshape(n, -1)
        rot = rot.reshape(n // unit, unit, -1)[window_index].reshape(n, -1)
    emb = torch.cat((rot, rot), dim=-1)
    cos, sin = emb.cos(), emb.sin()

    def norm(name, y):
        if qwen25:
            return rms_norm(y, W[name + ".weight"], 1e-6)
        return F.layer_norm(y, (d,), W[name + ".weight"], W[name + ".bias"], 1e-6)

    def lin(name, y):
        return F.linear(y, W[name + ".weight"], W.get(name + ".bias"))

    act = activation(cfg["v_act"])
    for i in range(cfg["v_depth"]):
        b = f"{p}blocks.{i}."
        segments = cu if (not qwen25 or i in cfg["fullatt"]) else cu_window
        y = norm(b + "norm1", x)
        q, k, v = lin(b + "attn.qkv", y).reshape(n, 3, heads, dv).permute(1, 2, 0, 3).unbind(0)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        out = segment_attention(q, k, v, segments).transpose(0, 1).reshape(n, d)
        x = x + lin(b + "attn.proj", out)
        y = norm(b + "norm2", x)
        if qwen25:
            y = lin(b + "mlp.down_proj", act(lin(b + "mlp.gate_proj", y)) * lin(b + "mlp.up_proj", y))
        else:
            y = lin(b + "mlp.fc2", act(lin(b + "mlp.fc1", y)))
        x = x + y
    x = norm(p + "merger.ln_q", x).view(-1, d * unit)
    x = lin(p + "merger.mlp.2", F.gelu(lin(p + "merger.mlp.0", x)))
    if qwen25:
        x = x[torch.argsort(window_index)]
    return x


def get_rope_index(cfg, ids, grid):
    """get_rope_index for one sequence with one still image."""
    merge = cfg["v_merge"]
    tokens = ids.tolist()
    starts = [i for i, tok in enumerate(tokens) if tok == cfg["vision_start_token_id"]]
    if len(starts) != 1 or tokens[starts[0] + 1] != cfg["image_token_id"]:
        raise SystemExit("expected one <|vision_start|><|image_pad|>")
    ed = tokens.index(cfg["image_token_id"])
    t, h, w = grid[0], grid[1] // merge, grid[2] // merge
    text_len = ed
    parts = [torch.arange(text_len).view(1, -1).expand(3, -1)]
    t_index = torch.arange(t).view(-1, 1).expand(-1, h * w).flatten()
    h_index = torch.arange(h).view(1, -1, 1).expand(t, -1, w).flatten()
    w_index = torch.arange(w).view(1, 1, -1).expand(t, h, -1).flatten()
    parts.append(torch.stack([t_index, h_index, w_index]) + text_len)
    st = ed + t * h * w
    st_idx = parts[-1].max() + 1
    parts.append(torch.arange(len(tokens) - st).view(1, -1).expand(3, -1) + st_idx)
    return torch.cat(parts, dim=1)  # [3, T]


def decoder(cfg, W, embeds, positions, span, interventions):
    n, hidden = embeds.shape
    heads, kv_heads, hd = cfg["heads"], cfg["kv_heads"], cfg["head_dim"]
    p = "model.language_model."
    inv_freq = 1.0 / (cfg["theta"] ** (torch.arange(0, hd, 2, dtype=DTYPE) / hd))
    freqs = positions.to(DTYPE)[:, :, None] * inv_freq[None, None, :]  # [3, T, hd/2]
    emb = torch.cat((freqs, freqs), dim=-1)
    sections = cfg["section"] * 2
    cos = torch.cat([m[i % 3] for i, m in enumerate(emb.cos().split(sections, dim=-1))], dim=-1)
    sin = torch.cat([m[i % 3] for i, m in enumerate(emb.sin().split(sections, dim=-1))], dim=-1)

    start, end = span
    knock, scales = intervention_edits(interventions, span, cfg["layers"])
    causal = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
    h = embeds
    att, hid = [], []
    for l in range(cfg["layers"]):
        b = f"{p}layers.{l}."
        for pos, factor in scales[l]:
            h = h.clone()
            h[pos] = h[pos] * factor
        x = rms_norm(h, W[b + "input_layernorm.weight"], cfg["eps"])

        def lin(name, y):
            return F.linear(y, W[b + name + ".weight"], W.get(b + name + ".bias"))

        q = lin("self_attn.q_proj", x).view(n, heads, hd).transpose(0, 1)
        k = lin("self_attn.k_proj", x).view(n, kv_heads, hd).transpose(0, 1)
        v = lin("self_attn.v_proj", x).view(n, kv_heads, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = torch.repeat_interleave(k, heads // kv_heads, dim=0)
        v = torch.repeat_interleave(v, heads // kv_heads, dim=0)
        mask = causal.clone()
        for pos in knock[l]:
            mask[end:, pos] = True
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        probs = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
        h = h + lin("self_attn.o_proj", torch.matmul(probs, v).transpose(0, 1).reshape(n, heads * hd))
        y = rms_norm(h, W[b + "post_attention_layernorm.weight"], cfg["eps"])
        h = h + lin("mlp.down_proj", F.silu(lin("mlp.gate_proj", y)) * lin("mlp.up_proj", y))
        att.append(probs[:, -1, start:end].mean(dim=0))
        hid.append(h[-1])
    final = rms_norm(h[-1], W[p + "norm.weight"], cfg["eps"])
    head = W[p + "embed_tokens.weight"] if cfg["tie"] else W["lm_head.weight"]
    return F.linear(final, head), att, hid


def run(request):
    folder = request["model"]
    with open(os.path.join(folder, "config.json")) as f:
        cfg = parse_config(json.load(f))
    W = load_state(folder)
    pixels, grid = preprocess(folder, request["rgb"], request["width"], request["height"])
    features = vision_tower(cfg, W, pixels, grid)
    # Qwen2VLProcessor: the one <|image_pad|> becomes t·h·w / merge² of them.
    ids = []
    for tok in request["input_ids"]:
        ids.extend([tok] * features.shape[0] if tok == cfg["image_token_id"] else [tok])
    ids = torch.tensor(ids)
    embeds = F.embedding(ids, W["model.language_model.embed_tokens.weight"]).clone()
    is_image = ids == cfg["image_token_id"]
    embeds[is_image] = features
    where = torch.nonzero(is_image).flatten().tolist()
    span = (where[0], where[-1] + 1)
    positions = get_rope_index(cfg, ids, grid)
    runs = {}
    for name, interventions in request["runs"].items():
        logits, att, hid = decoder(cfg, W, embeds, positions, span, interventions)
        runs[name] = run_result(logits, att, hid)
    return {
        "expanded_ids": ids.tolist(),
        "image_span": list(span),
        "grid": list(grid),
        "positions": positions.tolist(),
        "runs": runs,
    }


def main():
    if sys.argv[1] == "weights":
        write_weights(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    elif sys.argv[1] == "run":
        with open(sys.argv[2]) as f:
            json.dump(run(json.load(f)), sys.stdout)
        sys.stdout.write("\n")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
