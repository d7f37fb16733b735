#!/usr/bin/env python3
"""DEV TOOL — not shipped, not imported by the app, not needed by the test suite.

An independent float64 PyTorch implementation of transformers' LlavaForConditionalGeneration forward
pass (CLIP ViT -> LlavaMultiModalProjector -> LLaMA/Mistral decoder -> lm_head), of
LlavaNextForConditionalGeneration's (model_type "llava_next": the tower and projector on base + tiles,
then pack_image_features: select_best_resolution, the tile permute, unpad_image, an image_newline
column, base first), and of
VipLlavaForConditionalGeneration's (model_type "vipllava": several CLIP layers, each without its CLS
row, concatenated -> VipLlavaMultiModalProjector, a LayerNorm before the same MLP), written from the
semantics of transformers' modeling_clip / modeling_llava / modeling_vipllava / modeling_llama, with PyTorch's own kernels
(F.conv2d, F.layer_norm, F.linear, matmul, softmax, F.gelu, ...). It is the second oracle for
FusionScope's TypeScript float64 reference (native-models/reference/llava.ts): the two share no code,
so a misunderstanding in one shows up as a disagreement in native-models/reference/torch.test.ts.
RoPE follows modeling_rope_utils for rope_scaling (or v5 rope_parameters) types default, linear and
llama3 (Llama 3.1's frequency bands); any other type is refused, never ignored.

Needs only torch and numpy (Debian's python3-torch 1.13 is enough): no transformers, no safetensors
package. The safetensors format (8-byte little-endian header length, JSON header, raw little-endian
data; F32/F16/BF16/F64) is parsed by torch_common.py, single-file or sharded (here) through model.safetensors.index.json,
with either key layout (legacy `language_model.model.*` ... or modern `model.language_model.*` ...).

Deliberate differences from transformers run in float64: transformers computes the RoPE inverse
frequencies, the RoPE angles and the eager attention softmax in float32 even for a float64 model; here
everything is float64, which is what the TS reference claims to compute.

FusionScope's interventions (as in native-models/reference/llava.ts):
  knockout (layers L): in layer l in L, every query at position >= the image span's end gets -inf on the
                       chosen image key positions before softmax, in every head.
  hidden   (layers L): at the input of layer l in L (before input_layernorm), the residual stream at the
                       chosen image positions is multiplied by `scale` (default 0); the edit carries on.
`tokens` are indexes inside the image span (default: all of them).

Usage:
  python3 torch_llava.py REQUEST.json   (or the request on stdin)  -> result JSON on stdout

Request:
  {"model": "<HF llava folder>", "input_ids": [int...], "pixel_values": [float... CHW, normalized],
   "image_size"?: [height, width]   (llava_next: pixel_values is base + tiles, P x CHW, and this the
                                     original image's size),
   "runs": {"<name>": [{"mode": "knockout"|"hidden", "layers": [int...], "tokens"?: [int...],
                         "scale"?: float}...], ...}}
Result:
  {"image_span": [start, end], "runs": {"<name>": {
      "logits": [vocab floats at the last position],
      "attention": [layer][image token]  (last-position query, mean over heads),
      "hidden": [layer][hidden]          (last-position residual stream after the layer, before the final norm)
  }}}
"""

import json
import math
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# The helpers every oracle shares (safetensors, activations, RMSNorm, rotate_half, interventions);
# re-exported here for the oracles that import them as torch_llava.*.
from torch_common import (  # noqa: E402
    DTYPE,
    activation,
    intervention_edits,
    read_safetensors,
    rms_norm,
    rotate_half,
    run_result,
    with_defaults,
)

# ---------------------------------------------------------------------------------------------------
# Configuration: transformers' class defaults for absent fields.
# ---------------------------------------------------------------------------------------------------

# CLIPVisionConfig.__init__ defaults.
CLIP_VISION_DEFAULTS = dict(
    hidden_size=768,
    intermediate_size=3072,
    projection_dim=512,
    num_hidden_layers=12,
    num_attention_heads=12,
    num_channels=3,
    image_size=224,
    patch_size=32,
    hidden_act="quick_gelu",
    layer_norm_eps=1e-5,
)

# What LlavaConfig builds when vision_config is absent (CLIP ViT-L/14 at 336 px).
LLAVA_DEFAULT_VISION = dict(
    model_type="clip_vision_model",
    intermediate_size=4096,
    hidden_size=1024,
    patch_size=14,
    image_size=336,
    num_hidden_layers=24,
    num_attention_heads=16,
    vocab_size=32000,
    projection_dim=768,
)

LLAMA_DEFAULTS = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=11008,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=None,
    hidden_act="silu",
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
    rope_theta=10000.0,
    rope_scaling=None,
    attention_bias=False,
    mlp_bias=False,
    head_dim=None,
)

MISTRAL_DEFAULTS = dict(
    vocab_size=32000,
    hidden_size=4096,
    intermediate_size=14336,
    num_hidden_layers=32,
    num_attention_heads=32,
    num_key_value_heads=8,
    hidden_act="silu",
    rms_norm_eps=1e-6,
    tie_word_embeddings=False,
    rope_theta=10000.0,
    sliding_window=4096,
    head_dim=None,
)

LLAVA_DEFAULTS = dict(
    image_token_index=32000,
    projector_hidden_act="gelu",
    vision_feature_select_strategy="default",
    vision_feature_layer=-2,
    multimodal_projector_bias=True,
)


# VipLlavaConfig.__init__ defaults (it has no select strategy and no projector-bias switch).
VIPLLAVA_DEFAULTS = dict(
    image_token_index=32000,
    projector_hidden_act="gelu",
    projector_layernorm_eps=1e-5,
    vision_feature_layers=[-2, -5, -8, -11, 6],
)


# LlavaNextConfig.__init__'s default image_grid_pinpoints, [height, width].
LLAVA_NEXT_PINPOINTS = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]


def parse_config(raw):
    model_type = raw.get("model_type", "llava")
    if model_type not in ("llava", "vipllava", "llava_next"):
        raise SystemExit(f"unsupported model_type {model_type!r}")
    vision_raw = raw.get("vision_config")
    if vision_raw is None:
        vision_raw = LLAVA_DEFAULT_VISION
    vision_type = vision_raw.get("model_type", "clip_vision_model")
    if vision_type != "clip_vision_model":
        raise SystemExit(f"unsupported vision model_type {vision_type!r}")
    vision = with_defaults(CLIP_VISION_DEFAULTS, vision_raw)

    text_raw = raw.get("text_config")
    if text_raw is None:
        text_raw = {"model_type": "llama"}
    text_type = text_raw.get("model_type", "llama")
    if text_type == "llama":
        text = with_defaults(LLAMA_DEFAULTS, text_raw)
        text["sliding_window"] = None
    elif text_type == "mistral":
        text = with_defaults(MISTRAL_DEFAULTS, text_raw)
        text["attention_bias"] = False
        text["mlp_bias"] = False
    else:
        raise SystemExit(f"unsupported text model_type {text_type!r}")
    # LlamaConfig / MistralConfig: num_key_value_heads=None means multi-head attention.
    if text["num_key_value_heads"] is None:
        text["num_key_value_heads"] = text["num_attention_heads"]
    if text.get("head_dim") is None:
        text["head_dim"] = text["hidden_size"] // text["num_attention_heads"]
    text["rope"] = {"rope_type": "default"}
    for key in ("rope_parameters", "rope_scaling"):  # rope_scaling wins when both are present
        scaling = text.get(key)
        if scaling:
            kind = scaling.get("rope_type", scaling.get("type", "default"))
            if kind not in ("default", "linear", "llama3"):
                raise SystemExit(f"unsupported {key} type {kind!r} (default, linear, llama3)")
            text["rope"] = dict(scaling, rope_type=kind)
    if "rope_theta" not in text_raw and (text.get("rope_parameters") or {}).get("rope_theta") is not None:
        text["rope_theta"] = text["rope_parameters"]["rope_theta"]
    if text.get("partial_rotary_factor", 1) != 1:
        raise SystemExit("partial_rotary_factor must be 1")

    if model_type == "vipllava":
        llava = with_defaults(VIPLLAVA_DEFAULTS, raw)
        # VipLlavaModel.get_image_features always drops CLS; VipLlavaMultiModalProjector's linears are biased.
        llava["vision_feature_select_strategy"] = "default"
        llava["multimodal_projector_bias"] = True
        llava["vision_feature_layer"] = llava["vision_feature_layers"]
    else:
        llava = with_defaults(LLAVA_DEFAULTS, raw)
        llava["projector_layernorm_eps"] = None
    llava["model_type"] = model_type
    if model_type == "llava_next":
        llava["image_grid_pinpoints"] = raw.get("image_grid_pinpoints") or LLAVA_NEXT_PINPOINTS
        for h, w_ in llava["image_grid_pinpoints"]:
            if h % vision["image_size"] or w_ % vision["image_size"]:
                raise SystemExit(f"pinpoint {[h, w_]} is not a multiple of {vision['image_size']}")
    if "image_token_index" not in raw and "image_token_id" in raw:
        llava["image_token_index"] = raw["image_token_id"]
    if llava["vision_feature_select_strategy"] not in ("default", "full"):
        raise SystemExit(f"unexpected vision_feature_select_strategy {llava['vision_feature_select_strategy']!r}")
    llava["vision"] = vision
    llava["text"] = text
    return llava


# LlavaForConditionalGeneration._checkpoint_conversion_mapping: legacy names -> modern names.
LEGACY_PREFIXES = (
    ("language_model.model.", "model.language_model."),
    ("language_model.lm_head.", "lm_head."),
    ("vision_tower.", "model.vision_tower."),
    ("multi_modal_projector.", "model.multi_modal_projector."),
    ("image_newline", "model.image_newline"),
)


def modern_name(name):
    for old, new in LEGACY_PREFIXES:
        if name.startswith(old):
            return new + name[len(old) :]
    return name


def load_state_dict(folder):
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        files = sorted(set(weight_map.values()))
    else:
        weight_map = None
        files = ["model.safetensors"]
    state = {}
    for file in files:
        for name, tensor in read_safetensors(os.path.join(folder, file)).items():
            if weight_map is not None and weight_map.get(name) != file:
                raise SystemExit(f"{file}: tensor {name} is not mapped to this shard by the index")
            key = modern_name(name)
            if key in state:
                raise SystemExit(f"tensor {key} appears twice (as {name})")
            state[key] = tensor
    if weight_map is not None:
        missing = [n for n in weight_map if modern_name(n) not in state]
        if missing:
            raise SystemExit(f"tensors in the index but in no shard: {missing[:5]}")
    return state


class Weights:
    def __init__(self, state):
        self.state = state
        self.used = set()

    def __call__(self, name, shape=None):
        if name not in self.state:
            raise SystemExit(f"missing tensor {name}")
        tensor = self.state[name]
        if shape is not None and list(tensor.shape) != list(shape):
            raise SystemExit(f"tensor {name} has shape {list(tensor.shape)}, expected {list(shape)}")
        self.used.add(name)
        return tensor

    def optional(self, name, present, shape):
        return self(name, shape) if present else None


# ---------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------


def clip_hidden_states(cfg, w, pixel_values):
    """CLIPVisionTransformer(output_hidden_states=True).hidden_states: embeddings after pre_layrnorm,
    then the output of every encoder layer."""
    v = cfg["vision"]
    hidden, heads, size, patch = v["hidden_size"], v["num_attention_heads"], v["image_size"], v["patch_size"]
    channels, inner, eps = v["num_channels"], v["intermediate_size"], v["layer_norm_eps"]
    head_dim = hidden // heads
    patches = (size // patch) ** 2
    p = "model.vision_tower.vision_model."
    if list(pixel_values.shape) != [channels, size, size]:
        raise SystemExit(f"pixel_values shape {list(pixel_values.shape)}, model wants {[channels, size, size]}")

    # CLIPVisionEmbeddings: conv (no bias), flatten to patch tokens, prepend class embedding, + positions.
    conv = F.conv2d(
        pixel_values.unsqueeze(0), w(p + "embeddings.patch_embedding.weight", [hidden, channels, patch, patch]),
        stride=patch,
    )
    tokens = conv.flatten(2).transpose(1, 2)[0]  # [patches, hidden]
    cls = w(p + "embeddings.class_embedding", [hidden]).unsqueeze(0)
    x = torch.cat([cls, tokens], dim=0) + w(p + "embeddings.position_embedding.weight", [patches + 1, hidden])
    x = F.layer_norm(x, (hidden,), w(p + "pre_layrnorm.weight", [hidden]), w(p + "pre_layrnorm.bias", [hidden]), eps)

    act = activation(v["hidden_act"])
    states = [x]
    n = x.shape[0]
    for i in range(v["num_hidden_layers"]):
        lp = f"{p}encoder.layers.{i}."

        def lin(name, out, inp):
            return lambda t: F.linear(t, w(f"{lp}{name}.weight", [out, inp]), w(f"{lp}{name}.bias", [out]))

        def ln(name, t):
            return F.layer_norm(t, (hidden,), w(f"{lp}{name}.weight", [hidden]), w(f"{lp}{name}.bias", [hidden]), eps)

        y = ln("layer_norm1", x)
        q = lin("self_attn.q_proj", hidden, hidden)(y).view(n, heads, head_dim).transpose(0, 1)
        k = lin("self_attn.k_proj", hidden, hidden)(y).view(n, heads, head_dim).transpose(0, 1)
        vv = lin("self_attn.v_proj", hidden, hidden)(y).view(n, heads, head_dim).transpose(0, 1)
        probs = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * head_dim**-0.5, dim=-1)
        mixed = torch.matmul(probs, vv).transpose(0, 1).reshape(n, hidden)
        x = x + lin("self_attn.out_proj", hidden, hidden)(mixed)
        y = ln("layer_norm2", x)
        x = x + lin("mlp.fc2", hidden, inner)(act(lin("mlp.fc1", inner, hidden)(y)))
        states.append(x)
    return states


def image_features(cfg, w, pixel_values):
    """LlavaModel.get_image_features, or VipLlavaModel.get_image_features (list of layers, CLS dropped
    from each before the concat, LayerNorm first in the projector)."""
    states = clip_hidden_states(cfg, w, pixel_values)
    layer = cfg["vision_feature_layer"]
    default = cfg["vision_feature_select_strategy"] == "default"
    if isinstance(layer, int):
        selected = states[layer]
        if default:
            selected = selected[1:]
    else:
        pool = [states[i] for i in layer]
        if default:
            pool = [s[1:] for s in pool]
        selected = torch.cat(pool, dim=-1)
    # LlavaMultiModalProjector: linear_1 -> act -> linear_2 (VIP: projector_layernorm first).
    t = cfg["text"]["hidden_size"]
    bias = cfg["multimodal_projector_bias"]
    p = "model.multi_modal_projector."
    inp = selected.shape[-1]
    eps = cfg["projector_layernorm_eps"]
    if eps is not None:
        norm_w = w(p + "projector_layernorm.weight", [inp])
        selected = F.layer_norm(selected, (inp,), norm_w, w(p + "projector_layernorm.bias", [inp]), eps)
    x = F.linear(selected, w(p + "linear_1.weight", [t, inp]), w.optional(p + "linear_1.bias", bias, [t]))
    x = activation(cfg["projector_hidden_act"])(x)
    return F.linear(x, w(p + "linear_2.weight", [t, t]), w.optional(p + "linear_2.bias", bias, [t]))


def select_best_resolution(original_size, possible_resolutions):
    """image_processing_utils.select_best_resolution: the pinpoint keeping the most original pixels,
    ties broken by the least padding."""
    original_height, original_width = original_size
    best_fit = None
    max_effective, min_wasted = 0, float("inf")
    for height, width in possible_resolutions:
        scale = min(width / original_width, height / original_height)
        downscaled_width, downscaled_height = int(original_width * scale), int(original_height * scale)
        effective = min(downscaled_width * downscaled_height, original_width * original_height)
        wasted = width * height - effective
        if effective > max_effective or (effective == max_effective and wasted < min_wasted):
            max_effective, min_wasted = effective, wasted
            best_fit = (height, width)
    return best_fit


def unpad_image(tensor, original_size):
    """modeling_llava_next.unpad_image on [D, H, W]: drop the padded rows (or columns)."""
    original_height, original_width = original_size
    current_height, current_width = tensor.shape[1:]
    if original_width / original_height > current_width / current_height:
        new_height = int(round(original_height * (current_width / original_width), 7))
        padding = (current_height - new_height) // 2
        return tensor[:, padding : current_height - padding, :]
    new_width = int(round(original_width * (current_height / original_height), 7))
    padding = (current_width - new_width) // 2
    return tensor[:, :, padding : current_width - padding]


def pack_image_features(cfg, w, features, image_size):
    """LlavaNextModel.pack_image_features for one image: features [P, side*side, D] of base + tiles."""
    tile = cfg["vision"]["image_size"]
    side = tile // cfg["vision"]["patch_size"]
    height, width = select_best_resolution(image_size, cfg["image_grid_pinpoints"])
    rows, cols = height // tile, width // tile
    if features.shape[0] != 1 + rows * cols:
        raise SystemExit(f"image {image_size} needs 1 + {rows}x{cols} patches, got {features.shape[0]}")
    base = features[0]
    x = features[1:].view(rows, cols, side, side, -1)
    x = x.permute(4, 0, 2, 1, 3).contiguous().flatten(1, 2).flatten(2, 3)
    x = unpad_image(x, image_size)
    newline = w("model.image_newline", [x.shape[0]])
    x = torch.cat((x, newline[:, None, None].expand(*x.shape[:-1], 1)), dim=-1)
    x = x.flatten(1, 2).transpose(0, 1)
    return torch.cat((base, x), dim=0)


def rope_inverse_frequencies(rope, theta, head_dim):
    """transformers' ROPE_INIT_FUNCTIONS for default, linear and llama3 (Llama 3.1), in float64."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=DTYPE) / head_dim))
    kind = rope["rope_type"]
    if kind == "linear":
        return inv_freq / rope["factor"]
    if kind != "llama3":
        return inv_freq
    # Wavelengths below original/high_freq_factor keep their frequency, those above
    # original/low_freq_factor are divided by factor, and the band between mixes the two linearly
    # in original/wavelength.
    factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
    original = rope["original_max_position_embeddings"]
    wavelength = 2 * math.pi / inv_freq
    weight = ((original / wavelength - low) / (high - low)).clamp(0.0, 1.0)
    blended = weight * inv_freq + (1 - weight) * inv_freq / factor
    out = torch.where(wavelength > original / low, inv_freq / factor, blended)
    return torch.where(wavelength < original / high, inv_freq, out)


def decoder(cfg, w, embeds, span, interventions):
    """LlamaModel on inputs_embeds (+ lm_head at the last position), with the interventions."""
    t = cfg["text"]
    n, hidden = embeds.shape
    heads, kv_heads, head_dim = t["num_attention_heads"], t["num_key_value_heads"], t["head_dim"]
    inner, eps, bias, mlp_bias = t["intermediate_size"], t["rms_norm_eps"], t["attention_bias"], t["mlp_bias"]
    act = activation(t["hidden_act"])
    layers = t["num_hidden_layers"]
    p = "model.language_model."

    # RoPE: inv_freq = theta^(-2i/d), scaled as the config says; cos/sin of position * inv_freq,
    # repeated for both halves.
    inv_freq = rope_inverse_frequencies(t["rope"], t["rope_theta"], head_dim)
    freqs = torch.outer(torch.arange(n, dtype=DTYPE), inv_freq)
    angles = torch.cat([freqs, freqs], dim=-1)
    cos, sin = angles.cos(), angles.sin()  # [n, head_dim]

    positions = torch.arange(n)
    base_mask = positions.unsqueeze(0) > positions.unsqueeze(1)  # [query, key]: True = hidden (causal)
    if t.get("sliding_window") is not None:
        base_mask = base_mask | (positions.unsqueeze(1) - positions.unsqueeze(0) >= t["sliding_window"])

    # Resolve interventions into per-layer edits.
    start, end = span
    knockouts, scales = intervention_edits(interventions, span, layers)

    h = embeds
    attention_out, hidden_out = [], []
    for l in range(layers):
        lp = f"{p}layers.{l}."
        for pos, factor in scales[l]:
            h = h.clone()
            h[pos] = h[pos] * factor
        x = rms_norm(h, w(lp + "input_layernorm.weight", [hidden]), eps)

        def proj(name, out, inp, has_bias, t_in):
            return F.linear(
                t_in, w(f"{lp}{name}.weight", [out, inp]), w.optional(f"{lp}{name}.bias", has_bias, [out])
            )

        q = proj("self_attn.q_proj", heads * head_dim, hidden, bias, x).view(n, heads, head_dim).transpose(0, 1)
        k = proj("self_attn.k_proj", kv_heads * head_dim, hidden, bias, x).view(n, kv_heads, head_dim).transpose(0, 1)
        v = proj("self_attn.v_proj", kv_heads * head_dim, hidden, bias, x).view(n, kv_heads, head_dim).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        # repeat_kv: kv head g serves query heads g*n_rep ... g*n_rep + n_rep - 1.
        k = torch.repeat_interleave(k, heads // kv_heads, dim=0)
        v = torch.repeat_interleave(v, heads // kv_heads, dim=0)

        mask = base_mask.clone()
        for pos in knockouts[l]:
            mask[end:, pos] = True
        scores = torch.matmul(q, k.transpose(-1, -2)) * head_dim**-0.5
        scores = scores.masked_fill(mask, float("-inf"))
        probs = torch.softmax(scores, dim=-1)  # [heads, query, key]
        mixed = torch.matmul(probs, v).transpose(0, 1).reshape(n, heads * head_dim)
        h = h + proj("self_attn.o_proj", hidden, heads * head_dim, bias, mixed)

        y = rms_norm(h, w(lp + "post_attention_layernorm.weight", [hidden]), eps)
        gated = act(proj("mlp.gate_proj", inner, hidden, mlp_bias, y)) * proj("mlp.up_proj", inner, hidden, mlp_bias, y)
        h = h + proj("mlp.down_proj", hidden, inner, mlp_bias, gated)

        attention_out.append(probs[:, -1, start:end].mean(dim=0))
        hidden_out.append(h[-1])

    final = rms_norm(h[-1], w(p + "norm.weight", [hidden]), eps)
    vocab = t["vocab_size"]
    if t["tie_word_embeddings"]:
        head = w(p + "embed_tokens.weight", [vocab, hidden])
    else:
        head = w("lm_head.weight", [vocab, hidden])
    logits = F.linear(final, head)
    return logits, attention_out, hidden_out


def main():
    request = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    folder = request["model"]
    with open(os.path.join(folder, "config.json")) as f:
        cfg = parse_config(json.load(f))
    w = Weights(load_state_dict(folder))
    v = cfg["vision"]
    size = v["image_size"]
    # llava_next: pixel_values holds base + tiles ([P, C, S, S] flattened) and image_size the original
    # (height, width), as LlavaNextForConditionalGeneration's pixel_values[0] and image_sizes[0].
    pixels = torch.tensor(request["pixel_values"], dtype=DTYPE).view(-1, v["num_channels"], size, size)

    ids = torch.tensor(request["input_ids"], dtype=torch.long)
    t = cfg["text"]
    if ids.numel() == 0 or int(ids.min()) < 0 or int(ids.max()) >= t["vocab_size"]:
        raise SystemExit("input_ids empty or outside the vocabulary")
    if cfg["model_type"] == "llava_next":
        per_patch = torch.stack([image_features(cfg, w, p) for p in pixels])
        features = pack_image_features(cfg, w, per_patch, tuple(request["image_size"]))
    else:
        if pixels.shape[0] != 1:
            raise SystemExit("pixel_values must hold one image")
        features = image_features(cfg, w, pixels[0])
    # LlavaModel: embed, then masked_scatter the image features into the image-token rows, in order.
    embeds = F.embedding(ids, w("model.language_model.embed_tokens.weight", [t["vocab_size"], t["hidden_size"]]))
    is_image = ids == cfg["image_token_index"]
    count = int(is_image.sum())
    if count != features.shape[0]:
        raise SystemExit(f"Image features and image tokens do not match: tokens: {count}, features {features.shape[0]}")
    embeds = embeds.clone()
    embeds[is_image] = features
    where = torch.nonzero(is_image).flatten().tolist()
    span = (where[0], where[-1] + 1)
    if span[1] - span[0] != count:
        raise SystemExit("the image tokens must be contiguous (one image)")

    runs = {}
    for name, interventions in request["runs"].items():
        logits, attention, hidden = decoder(cfg, w, embeds, span, interventions)
        runs[name] = run_result(logits, attention, hidden)
    # A tensor nobody read is a sign of a name mismatch (CLIP's post_layernorm only feeds the pooled output).
    unused = sorted(k for k in w.state if k not in w.used and ".post_layernorm." not in k)
    if unused:
        print(f"torch_llava.py: warning: unused tensors {unused[:5]}", file=sys.stderr)
    json.dump({"image_span": list(span), "runs": runs}, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
