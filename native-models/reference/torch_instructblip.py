#!/usr/bin/env python3
"""DEV TOOL — not shipped, not imported by the app, not needed by the test suite.

An independent float64 PyTorch implementation of transformers' InstructBlipForConditionalGeneration
forward pass with a LLaMA language model, written from the semantics of modeling_instructblip.py and
image_processing_blip.py with PyTorch's own kernels (F.conv2d, F.layer_norm, F.linear, matmul,
softmax, F.gelu): the second oracle for FusionScope's TypeScript float64 reference
(native-models/reference/instructblip.ts) and for the engine. The LLaMA decoder and the interventions
are torch_llava.py's (imported, not copied); everything InstructBLIP adds is here:

  BlipImageProcessor: PIL resize straight to `size` (bicubic), x / 255, (x - mean) / std
  vision:   conv (with bias) patches, CLS first, + position_embedding, no pre-norm; pre-norm encoder
            layers with a fused qkv projection (bias as stored, all three parts); post_layernorm
  Q-Former: layernorm([query_tokens; word + absolute position embeddings]); per layer BERT self-attention
            over queries and text, cross-attention to the image embeddings on the query rows only when
            layer % cross_attention_frequency == 0, then intermediate_query/output_query for the queries
            and intermediate/output for the text
  language_projection of the query rows, scattered into the image-token rows (before BOS)

Two modes:
  python3 torch_instructblip.py init FOLDER SEED
      Replaces FOLDER/model.safetensors with weights of its own: every tensor named in the existing
      header, same shape, drawn from torch.Generator(SEED) (std by role: 1/sqrt(fan_in) for matrices,
      1.6x for attention queries/keys, 0.1 for biases, 1 + 0.1 n for norm weights, 1 for embeddings),
      stored as BF16. The TypeScript writer's PRNG never produces these values.
  python3 torch_instructblip.py run REQUEST.json  -> result JSON on stdout
      Request: {"model", "input_ids", "qformer_input_ids", "image": {"width", "height", "rgb": [bytes]},
                "runs": {name: [interventions as torch_llava.py]}}
      Result:  {"image_span", "pixel_values", "image_features", "cross_attention": [C][Hq][Q][1+P],
                "runs": {name: {"logits", "attention", "hidden"}}}
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch_llava  # noqa: E402  (the LLaMA decoder and its defaults)
from torch_common import (  # noqa: E402  (the oracles' shared helpers)
    DTYPE,
    activation,
    read_safetensors,
    read_safetensors_header,
    run_result,
    with_defaults,
    write_safetensors,
)

VISION_DEFAULTS = dict(
    hidden_size=1408,
    intermediate_size=6144,
    num_hidden_layers=39,
    num_attention_heads=16,
    image_size=224,
    patch_size=14,
    hidden_act="gelu",
    layer_norm_eps=1e-6,
    qkv_bias=True,
)

QFORMER_DEFAULTS = dict(
    vocab_size=30522,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    max_position_embeddings=512,
    layer_norm_eps=1e-12,
    position_embedding_type="absolute",
    cross_attention_frequency=2,
)

BLIP_PROCESSOR_DEFAULTS = dict(
    size={"height": 384, "width": 384},
    rescale_factor=1 / 255,
    image_mean=[0.48145466, 0.4578275, 0.40821073],
    image_std=[0.26862954, 0.26130258, 0.27577711],
)


def parse_config(raw):
    if raw.get("model_type") != "instructblip":
        raise SystemExit(f"model_type {raw.get('model_type')!r} is not instructblip")
    vision = with_defaults(VISION_DEFAULTS, raw.get("vision_config") or {})
    qformer = with_defaults(QFORMER_DEFAULTS, raw.get("qformer_config") or {})
    if not vision["qkv_bias"]:
        raise SystemExit("vision_config.qkv_bias false is not implemented")
    if qformer["position_embedding_type"] != "absolute":
        raise SystemExit("only absolute Q-Former positions are implemented")
    text_raw = raw.get("text_config") or {}
    if text_raw.get("model_type") != "llama":
        raise SystemExit("text_config.model_type must be llama")
    if text_raw.get("rope_scaling"):
        raise SystemExit("rope_scaling is not exercised by this oracle")
    text = with_defaults(torch_llava.LLAMA_DEFAULTS, text_raw)
    text["sliding_window"] = None
    if text["num_key_value_heads"] is None:
        text["num_key_value_heads"] = text["num_attention_heads"]
    if text.get("head_dim") is None:
        text["head_dim"] = text["hidden_size"] // text["num_attention_heads"]
    text["rope"] = {"rope_type": "default"}
    # InstructBlipConfig overrides the Q-Former's encoder_hidden_size with the vision width.
    qformer["encoder_hidden_size"] = vision["hidden_size"]
    return dict(
        vision=vision,
        qformer=qformer,
        text=text,
        num_query_tokens=raw.get("num_query_tokens", 32),
        image_token_index=raw["image_token_index"],
    )


# ---------------------------------------------------------------------------------------------------
# init: own random weights, BF16
# ---------------------------------------------------------------------------------------------------


def std_for(name, shape):
    """(std, mean) by the tensor's role; keeps activations O(1) and attention clearly non-uniform."""
    if len(shape) == 1 and "norm" in name.lower() and name.endswith(".weight"):
        return 0.1, 1.0
    if name.endswith(".bias"):
        return 0.1, 0.0
    if name.endswith("class_embedding") or name == "query_tokens":
        return 1.0, 0.0
    if "position_embedding" in name:
        return 0.5, 0.0
    if name.endswith("word_embeddings.weight") or name.endswith("embed_tokens.weight"):
        return 1.0, 0.0
    fan_in = int(np.prod(shape[1:]))
    gain = 1.6 if any(k in name for k in (".query.", ".key.", ".qkv.", "q_proj", "k_proj")) else 1.0
    if name.endswith("lm_head.weight"):
        gain = 2.0
    return gain / math.sqrt(fan_in), 0.0


def init(folder, seed):
    path = os.path.join(folder, "model.safetensors")
    header = read_safetensors_header(path)
    generator = torch.Generator().manual_seed(seed)
    tensors = []
    for name in sorted(header):
        shape = header[name]["shape"]
        std, mean = std_for(name, shape)
        values = torch.randn(shape, generator=generator, dtype=torch.float32) * std + mean
        tensors.append((name, "BF16", shape, values.to(torch.bfloat16).view(torch.int16).numpy().tobytes()))
    write_safetensors(path, tensors)
    config_path = os.path.join(folder, "config.json")
    with open(config_path) as f:
        config = json.load(f)
    config["torch_dtype"] = "bfloat16"
    config["text_config"]["torch_dtype"] = "bfloat16"
    with open(config_path, "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------
# run
# ---------------------------------------------------------------------------------------------------


def pixel_values(folder, image):
    """BlipImageProcessor: PIL resize straight to (height, width) with its filter (the uint8 image
    through PIL, as transformers' resize does), then rescale and normalise, channels first."""
    from PIL import Image

    with open(os.path.join(folder, "preprocessor_config.json")) as f:
        proc = with_defaults(BLIP_PROCESSOR_DEFAULTS, json.load(f))
    size = proc["size"]
    rgb = np.array(image["rgb"], dtype=np.uint8).reshape(image["height"], image["width"], 3)
    if proc.get("do_resize", True):
        filters = {0: Image.NEAREST, 1: Image.LANCZOS, 2: Image.BILINEAR, 3: Image.BICUBIC}
        resized = Image.fromarray(rgb).resize((size["width"], size["height"]), filters[proc.get("resample", 3)])
        rgb = np.asarray(resized)
    x = torch.tensor(rgb, dtype=DTYPE) * proc["rescale_factor"]
    x = (x - torch.tensor(proc["image_mean"], dtype=DTYPE)) / torch.tensor(proc["image_std"], dtype=DTYPE)
    return x.permute(2, 0, 1).contiguous()


def vision_embeds(cfg, w, pixels):
    v = cfg["vision"]
    hidden, heads, patch, eps = v["hidden_size"], v["num_attention_heads"], v["patch_size"], v["layer_norm_eps"]
    head_dim = hidden // heads
    p = "vision_model."
    conv = F.conv2d(pixels.unsqueeze(0), w(p + "embeddings.patch_embedding.weight"),
                    w(p + "embeddings.patch_embedding.bias"), stride=patch)
    tokens = conv.flatten(2).transpose(1, 2)[0]
    x = torch.cat([w(p + "embeddings.class_embedding").view(1, hidden), tokens], dim=0)
    x = x + w(p + "embeddings.position_embedding")[0, : x.shape[0]]
    act = activation(v["hidden_act"])
    n = x.shape[0]

    def ln(name, t):
        return F.layer_norm(t, (hidden,), w(name + ".weight"), w(name + ".bias"), eps)

    def lin(name, t):
        return F.linear(t, w(name + ".weight"), w(name + ".bias"))

    for i in range(v["num_hidden_layers"]):
        lp = f"{p}encoder.layers.{i}."
        qkv = lin(lp + "self_attn.qkv", ln(lp + "layer_norm1", x)).view(n, 3, heads, head_dim).permute(1, 2, 0, 3)
        q, k, vv = qkv[0], qkv[1], qkv[2]
        probs = torch.softmax(q @ k.transpose(-1, -2) * head_dim ** -0.5, dim=-1)
        x = x + lin(lp + "self_attn.projection", (probs @ vv).transpose(0, 1).reshape(n, hidden))
        x = x + lin(lp + "mlp.fc2", act(lin(lp + "mlp.fc1", ln(lp + "layer_norm2", x))))
    return ln(p + "post_layernorm", x)


def qformer(cfg, w, embeds, ids):
    c = cfg["qformer"]
    hidden, heads, eps = c["hidden_size"], c["num_attention_heads"], c["layer_norm_eps"]
    head_dim = hidden // heads
    queries = cfg["num_query_tokens"]
    act = activation(c["hidden_act"])
    p = "qformer."

    def ln(name, t):
        return F.layer_norm(t, (hidden,), w(name + ".weight"), w(name + ".bias"), eps)

    def lin(name, t):
        return F.linear(t, w(name + ".weight"), w(name + ".bias"))

    def attention(prefix, rows, keys):
        def heads_of(t):
            return t.view(t.shape[0], heads, head_dim).transpose(0, 1)

        q = heads_of(lin(prefix + ".attention.query", rows))
        k = heads_of(lin(prefix + ".attention.key", keys))
        v = heads_of(lin(prefix + ".attention.value", keys))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(head_dim), dim=-1)
        context = (probs @ v).transpose(0, 1).reshape(rows.shape[0], hidden)
        return ln(prefix + ".output.LayerNorm", lin(prefix + ".output.dense", context) + rows), probs

    def feed_forward(prefix, suffix, t):
        inner = act(lin(f"{prefix}intermediate{suffix}.dense", t))
        return ln(f"{prefix}output{suffix}.LayerNorm", lin(f"{prefix}output{suffix}.dense", inner) + t)

    ids_t = torch.tensor(ids, dtype=torch.long)
    text = F.embedding(ids_t, w(p + "embeddings.word_embeddings.weight")) + \
        w(p + "embeddings.position_embeddings.weight")[: len(ids)]
    x = torch.cat([w("query_tokens")[0], text], dim=0)
    x = ln(p + "embeddings.layernorm", x)
    cross = []
    for i in range(c["num_hidden_layers"]):
        lp = f"{p}encoder.layer.{i}."
        attended, _ = attention(lp + "attention", x, x)
        query_part = attended[:queries]
        if i % c["cross_attention_frequency"] == 0:
            query_part, probs = attention(lp + "crossattention", query_part, embeds)
            cross.append(probs)
        parts = [feed_forward(lp, "_query", query_part)]
        if attended.shape[0] > queries:
            parts.append(feed_forward(lp, "", attended[queries:]))
        x = torch.cat(parts, dim=0)
    features = F.linear(x[:queries], w("language_projection.weight"), w("language_projection.bias"))
    return features, torch.stack(cross)


# language_model.* → the names torch_llava.decoder reads.
def decoder_name(name):
    if name.startswith("language_model.model."):
        return "model.language_model." + name[len("language_model.model."):]
    if name == "language_model.lm_head.weight":
        return "lm_head.weight"
    return name


def run(request):
    folder = request["model"]
    with open(os.path.join(folder, "config.json")) as f:
        cfg = parse_config(json.load(f))
    state = {decoder_name(k): v for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    w = torch_llava.Weights(state)
    pixels = pixel_values(folder, request["image"])
    embeds = vision_embeds(cfg, w, pixels)
    features, cross = qformer(cfg, w, embeds, request["qformer_input_ids"])

    t = cfg["text"]
    ids = torch.tensor(request["input_ids"], dtype=torch.long)
    if int(ids.min()) < 0 or int(ids.max()) >= t["vocab_size"]:
        raise SystemExit("input_ids outside the vocabulary")
    inputs = F.embedding(ids, w("model.language_model.embed_tokens.weight")).clone()
    is_image = ids == cfg["image_token_index"]
    where = torch.nonzero(is_image).flatten().tolist()
    if len(where) != features.shape[0] or where != list(range(where[0], where[0] + len(where))):
        raise SystemExit(f"{len(where)} image tokens for {features.shape[0]} query features (must be one run)")
    inputs[is_image] = features
    span = (where[0], where[-1] + 1)
    runs = {}
    for name, interventions in request["runs"].items():
        logits, attention, hidden = torch_llava.decoder({"text": t}, w, inputs, span, interventions)
        runs[name] = run_result(logits, attention, hidden)
    unused = sorted(k for k in state if k not in w.used)
    if unused:
        raise SystemExit(f"unused tensors (a name mismatch?): {unused[:5]}")
    return {
        "image_span": list(span),
        "pixel_values": pixels.flatten().tolist(),
        "image_features": features.tolist(),
        "cross_attention": cross.tolist(),
        "runs": runs,
    }


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "init":
        init(sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) >= 3 and sys.argv[1] == "run":
        with open(sys.argv[2]) as f:
            json.dump(run(json.load(f)), sys.stdout)
        sys.stdout.write("\n")
        return
    raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
