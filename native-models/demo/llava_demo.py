"""Shared code of FusionScope's demo model (see train.py): a from-scratch LLaVA-1.5-architecture model
whose forward pass is exactly what transformers' LlavaForConditionalGeneration computes, its closed
word-level tokenizer (written as a Hugging Face `tokenizers` tokenizer.json), CLIPImageProcessor
preprocessing, a safetensors writer and the dataset reader.

Needs only /usr/bin/python3 with Debian's torch 1.13, numpy and PIL (no transformers, safetensors or
tokenizers packages).

Numerics. Debian's torch links the reference BLAS, so float32 matrix products run at a few GFLOP/s on
these CPUs, while bfloat16 products go through oneDNN (AVX512-BF16) about 15x faster. Training therefore
runs every matrix product (linear layers, attention scores, attention x values, the patch convolution)
in bfloat16 with float32 master weights, float32 residual stream, float32 norms, softmax, RoPE and
activations ("bf16" compute). Evaluation, model selection on the test split and the equivalence fixture
use the exact float32 path ("fp32" compute), which is what transformers and FusionScope's engine run.
"""

import json
import math
import os
import re
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# transformers' OPENAI_CLIP_MEAN / OPENAI_CLIP_STD.
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

UNK, BOS, EOS, PAD, IMAGE = "<unk>", "<s>", "</s>", "<pad>", "<image>"
SPECIALS = [UNK, BOS, EOS, PAD]
TEMPLATE_WORDS = ["USER", "ASSISTANT", ":"]

# llava-hf's chat template (llava-1.5-7b-hf's processor), verbatim.
CHAT_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] != 'system' %}{{ message['role'].upper() + ': '}}"
    "{% endif %}{# Render all images first #}{% for content in message['content'] | selectattr('type', "
    "'equalto', 'image') %}{{ '<image>\n' }}{% endfor %}{# Render all text next #}{% for content in "
    "message['content'] | selectattr('type', 'equalto', 'text') %}{{ content['text'] + ' '}}{% endfor %}"
    "{% endfor %}{% if add_generation_prompt %}{{ 'ASSISTANT:' }}{% endif %}"
)


def render_prompt(question, images=1):
    """What CHAT_TEMPLATE renders for [{role: user, content: [image, text question]}] with
    add_generation_prompt=True; with `images` > 1, every image first, each "<image>\n" (how the engine
    feeds a crop after the original: main/engine/inference/prompt.ts promptText)."""
    return "USER: " + (IMAGE + "\n") * images + question + " " + "ASSISTANT:"


# ---------------------------------------------------------------------------------------------------
# Tokenizer: WordLevel + Whitespace pre-tokenizer + TemplateProcessing("<s> $A"), special added tokens.
# ---------------------------------------------------------------------------------------------------

WHITESPACE_RE = re.compile(r"\w+|[^\w\s]+")


def pre_tokenize(text):
    """tokenizers' Whitespace pre-tokenizer (regex \\w+|[^\\w\\s]+); ASCII text only."""
    return WHITESPACE_RE.findall(text)


class Tokenizer:
    def __init__(self, words):
        """words: the closed vocabulary (any order); pieces are made with the pre-tokenizer."""
        pieces = set()
        for w in list(words) + TEMPLATE_WORDS:
            if not all(ord(c) < 128 for c in w):
                raise SystemExit(f"non-ASCII vocabulary word {w!r}")
            pieces.update(pre_tokenize(w))
        pieces -= set(SPECIALS) | {IMAGE}
        self.tokens = SPECIALS + sorted(pieces) + [IMAGE]
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.unk_id, self.bos_id, self.eos_id, self.pad_id = (self.ids[t] for t in SPECIALS)
        self.image_id = self.ids[IMAGE]
        self.added = [UNK, BOS, EOS, PAD, IMAGE]

    @property
    def vocab_size(self):
        return len(self.tokens)

    def encode(self, text, add_bos=True):
        """Hugging Face pipeline: split on added tokens (verbatim, no strip), pre-tokenize the rest,
        WordLevel lookup (unknown -> <unk>), then the post-processor adds <s>."""
        ids = [self.bos_id] if add_bos else []
        added = tuple(self.added)
        if getattr(self, "_split_on", None) != added:  # compiled once per set of added tokens (training encodes 10^5 prompts)
            self._split_on = added
            self._splitter = re.compile("(" + "|".join(re.escape(t) for t in sorted(added, key=len, reverse=True)) + ")")
        for part in self._splitter.split(text):
            if part in self.ids and part in self.added:
                ids.append(self.ids[part])
            elif part:
                ids.extend(self.ids.get(p, self.unk_id) for p in pre_tokenize(part))
        return ids

    def decode(self, ids, skip_special=True):
        """WordPiece decoder (prefix "##", cleanup false): tokens joined by single spaces."""
        toks = [self.tokens[i] for i in ids if not (skip_special and self.tokens[i] in self.added)]
        return " ".join(toks)

    def prompt_ids(self, question, image_tokens, images=1):
        """Prompt with each <image> placeholder expanded to `image_tokens` copies (the processor's
        behaviour in transformers >= 4.47)."""
        return self.encode(render_prompt(question, images).replace(IMAGE, IMAGE * image_tokens))

    def tokenizer_json(self):
        def added(i, t):
            return {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                    "normalized": False, "special": True}

        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [added(self.ids[t], t) for t in self.added],
            "normalizer": None,
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": BOS, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [
                    {"SpecialToken": {"id": BOS, "type_id": 0}},
                    {"Sequence": {"id": "A", "type_id": 0}},
                    {"SpecialToken": {"id": BOS, "type_id": 1}},
                    {"Sequence": {"id": "B", "type_id": 1}},
                ],
                "special_tokens": {BOS: {"id": BOS, "ids": [self.bos_id], "tokens": [BOS]}},
            },
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": False},
            "model": {"type": "WordLevel", "vocab": {t: i for i, t in enumerate(self.tokens)}, "unk_token": UNK},
        }

    def write(self, folder, image_tokens):
        write_json(os.path.join(folder, "tokenizer.json"), self.tokenizer_json(), indent=None)

        def added_decoder(t):
            return {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                    "special": True}

        write_json(os.path.join(folder, "tokenizer_config.json"), {
            "add_bos_token": True,
            "add_eos_token": False,
            "added_tokens_decoder": {str(self.ids[t]): added_decoder(t) for t in self.added},
            "bos_token": BOS,
            "chat_template": CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "eos_token": EOS,
            "extra_special_tokens": {"image_token": IMAGE},
            "image_token": IMAGE,
            "model_max_length": 512,
            "pad_token": PAD,
            "padding_side": "left",
            "processor_class": "LlavaProcessor",
            "tokenizer_class": "PreTrainedTokenizerFast",
            "unk_token": UNK,
        })

        def special(t):
            return {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}

        write_json(os.path.join(folder, "special_tokens_map.json"), {
            "bos_token": special(BOS), "eos_token": special(EOS), "image_token": IMAGE,
            "pad_token": special(PAD), "unk_token": special(UNK),
        })
        write_json(os.path.join(folder, "chat_template.json"), {"chat_template": CHAT_TEMPLATE})


def write_json(path, value, indent=2):
    with open(path, "w") as f:
        json.dump(value, f, indent=indent, ensure_ascii=True)
        f.write("\n")


# ---------------------------------------------------------------------------------------------------
# Image preprocessing: CLIPImageProcessor on 64x64 RGB (resize and center crop are identities).
# ---------------------------------------------------------------------------------------------------

_MEAN32 = np.array(CLIP_MEAN, dtype=np.float32)
_STD32 = np.array(CLIP_STD, dtype=np.float32)


def preprocess(images_u8):
    """uint8 [..., H, W, 3] -> float32 [..., 3, H, W] exactly as transformers' rescale (float64 multiply,
    cast to float32) then normalize ((x - mean) / std in float32)."""
    x = (images_u8.astype(np.float64) * (1 / 255)).astype(np.float32)
    x = (x - _MEAN32) / _STD32
    return np.ascontiguousarray(np.moveaxis(x, -1, -3))


def load_rgb(path):
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


# ---------------------------------------------------------------------------------------------------
# Model
# ---------------------------------------------------------------------------------------------------


class Compute:
    """bf16: matrix products in bfloat16 (training); fp32: everything float32 (evaluation, export)."""

    bf16 = False


def mm_linear(x, w, b=None):
    if Compute.bf16:
        bb = None if b is None else b.to(torch.bfloat16)
        return F.linear(x.to(torch.bfloat16), w.to(torch.bfloat16), bb).float()
    return F.linear(x, w, b)


def mm(a, b):
    if Compute.bf16:
        return torch.matmul(a.to(torch.bfloat16), b.to(torch.bfloat16)).float()
    return torch.matmul(a, b)


class Linear(nn.Module):
    def __init__(self, inp, out, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out, inp))
        self.bias = nn.Parameter(torch.zeros(out)) if bias else None

    def forward(self, x):
        return mm_linear(x, self.weight, self.bias)


class LayerNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, (x.shape[-1],), self.weight, self.bias, self.eps)


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        # LlamaRMSNorm: weight * (x * rsqrt(mean(x^2) + eps)), in float32.
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def quick_gelu(x):
    return x * torch.sigmoid(1.702 * x)


class Module(nn.Module):
    """A bare container, so parameter names follow the Hugging Face hierarchy."""


class ClipAttention(nn.Module):
    def __init__(self, hidden, heads):
        super().__init__()
        self.heads, self.head_dim = heads, hidden // heads
        self.q_proj = Linear(hidden, hidden, True)
        self.k_proj = Linear(hidden, hidden, True)
        self.v_proj = Linear(hidden, hidden, True)
        self.out_proj = Linear(hidden, hidden, True)

    def forward(self, x):
        b, n, d = x.shape
        h, hd = self.heads, self.head_dim
        # transformers scales q by head_dim^-0.5 (eager: scores * scale); same value either way.
        q = self.q_proj(x).view(b, n, h, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, h, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, h, hd).transpose(1, 2)
        scores = mm(q, k.transpose(-1, -2)) * hd**-0.5
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
        out = mm(probs, v).transpose(1, 2).reshape(b, n, d)
        return self.out_proj(out)


class ClipLayer(nn.Module):
    def __init__(self, vc):
        super().__init__()
        d, eps = vc["hidden_size"], vc["layer_norm_eps"]
        self.self_attn = ClipAttention(d, vc["num_attention_heads"])
        self.layer_norm1 = LayerNorm(d, eps)
        self.mlp = Module()
        self.mlp.fc1 = Linear(d, vc["intermediate_size"], True)
        self.mlp.fc2 = Linear(vc["intermediate_size"], d, True)
        self.layer_norm2 = LayerNorm(d, eps)

    def forward(self, x):
        x = x + self.self_attn(self.layer_norm1(x))
        return x + self.mlp.fc2(quick_gelu(self.mlp.fc1(self.layer_norm2(x))))


class ClipVisionModel(nn.Module):
    """CLIPVisionTransformer (as `vision_model`), returning hidden_states (embeddings after
    pre_layrnorm, then each encoder layer's output) up to the layer LLaVA reads."""

    def __init__(self, vc):
        super().__init__()
        d, eps, p = vc["hidden_size"], vc["layer_norm_eps"], vc["patch_size"]
        n = (vc["image_size"] // p) ** 2
        self.patch = p
        self.embeddings = Module()
        self.embeddings.patch_embedding = nn.Conv2d(3, d, p, stride=p, bias=False)
        self.embeddings.class_embedding = nn.Parameter(torch.empty(d))
        self.embeddings.position_embedding = nn.Embedding(n + 1, d)
        self.pre_layrnorm = LayerNorm(d, eps)
        self.encoder = Module()
        self.encoder.layers = nn.ModuleList([ClipLayer(vc) for _ in range(vc["num_hidden_layers"])])
        self.post_layernorm = LayerNorm(d, eps)  # feeds only the pooled output, unused by LLaVA

    def hidden_states(self, pixel_values, upto):
        """hidden_states[0..upto] (upto = number of encoder layers run)."""
        w = self.embeddings.patch_embedding.weight
        b = pixel_values.shape[0]
        d, p = w.shape[0], self.patch
        # Conv2d with kernel = stride = patch, no bias, as a matrix product over flattened patches.
        c, hgt, wid = pixel_values.shape[1:]
        patches = pixel_values.reshape(b, c, hgt // p, p, wid // p, p).permute(0, 2, 4, 1, 3, 5)
        patches = patches.reshape(b, (hgt // p) * (wid // p), c * p * p)
        tokens = mm_linear(patches, w.reshape(d, c * p * p))
        cls = self.embeddings.class_embedding.expand(b, 1, d)
        x = torch.cat([cls, tokens], dim=1) + self.embeddings.position_embedding.weight
        x = self.pre_layrnorm(x)
        states = [x]
        for layer in self.encoder.layers[:upto]:
            x = layer(x)
            states.append(x)
        return states


class LlamaAttention(nn.Module):
    def __init__(self, tc):
        super().__init__()
        d, h, kv = tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"]
        self.heads, self.kv_heads, self.head_dim = h, kv, d // h
        self.q_proj = Linear(d, h * self.head_dim, False)
        self.k_proj = Linear(d, kv * self.head_dim, False)
        self.v_proj = Linear(d, kv * self.head_dim, False)
        self.o_proj = Linear(h * self.head_dim, d, False)

    def forward(self, x, cos, sin, mask, past=None):
        """past: (k, v) of earlier positions (after RoPE, before repeat_kv); returns (out, probs, (k, v))."""
        b, n, _ = x.shape
        h, kv, hd = self.heads, self.kv_heads, self.head_dim
        q = self.q_proj(x).view(b, n, h, hd).transpose(1, 2)
        k = self.k_proj(x).view(b, n, kv, hd).transpose(1, 2)
        v = self.v_proj(x).view(b, n, kv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        present = (k, v)
        if kv != h:
            k = k.repeat_interleave(h // kv, dim=1)
            v = v.repeat_interleave(h // kv, dim=1)
        scores = mm(q, k.transpose(-1, -2)) * hd**-0.5 + mask
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
        out = mm(probs, v).transpose(1, 2).reshape(b, n, h * hd)
        return self.o_proj(out), probs, present


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class LlamaLayer(nn.Module):
    def __init__(self, tc):
        super().__init__()
        d, inner, eps = tc["hidden_size"], tc["intermediate_size"], tc["rms_norm_eps"]
        self.self_attn = LlamaAttention(tc)
        self.mlp = Module()
        self.mlp.gate_proj = Linear(d, inner, False)
        self.mlp.up_proj = Linear(d, inner, False)
        self.mlp.down_proj = Linear(inner, d, False)
        self.input_layernorm = RMSNorm(d, eps)
        self.post_attention_layernorm = RMSNorm(d, eps)

    def forward(self, x, cos, sin, mask, past=None):
        a, probs, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past)
        x = x + a
        y = self.post_attention_layernorm(x)
        return x + self.mlp.down_proj(F.silu(self.mlp.gate_proj(y)) * self.mlp.up_proj(y)), probs, present


class LlamaModel(nn.Module):
    def __init__(self, tc):
        super().__init__()
        self.tc = tc
        self.embed_tokens = nn.Embedding(tc["vocab_size"], tc["hidden_size"])
        self.layers = nn.ModuleList([LlamaLayer(tc) for _ in range(tc["num_hidden_layers"])])
        self.norm = RMSNorm(tc["hidden_size"], tc["rms_norm_eps"])

    def rope(self, positions):
        # LlamaRotaryEmbedding (default rope): inv_freq in float32, angles = positions x inv_freq in float32,
        # emb = cat(freqs, freqs).
        hd = self.tc["hidden_size"] // self.tc["num_attention_heads"]
        inv_freq = 1.0 / (self.tc["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
        freqs = positions.to(torch.float32)[..., None] * inv_freq
        emb = torch.cat([freqs, freqs], dim=-1)
        return emb.cos(), emb.sin()

    def forward(self, embeds, want_probs=False, positions=None, mask=None):
        """Causal pass over positions 0..n-1 -> (normed hidden states, per-layer probs, per-layer (k, v)).
        Packed training passes its own RoPE `positions` [B, n] and additive `mask` [B, 1, n, n] instead."""
        n = embeds.shape[1]
        if positions is None:
            cos, sin = self.rope(torch.arange(n))
        else:
            cos, sin = (t[:, None] for t in self.rope(positions))
        if mask is None:
            mask = torch.full((n, n), float("-inf")).triu(1)
        x = embeds
        all_probs, cache = [], []
        for layer in self.layers:
            x, probs, present = layer(x, cos, sin, mask)
            cache.append(present)
            if want_probs:
                all_probs.append(probs)
        return self.norm(x), all_probs, cache

    def step(self, embeds, positions, mask, cache):
        """One new token per row: embeds [B, 1, d] at `positions` [B]; mask [B, 1, 1, keys] additive over
        the cached keys plus the new one. Returns (normed hidden [B, 1, d], updated cache)."""
        cos, sin = self.rope(positions)
        cos, sin = cos[:, None, None, :], sin[:, None, None, :]
        x, new_cache = embeds, []
        for layer, past in zip(self.layers, cache):
            x, _, present = layer(x, cos, sin, mask, past)
            new_cache.append(present)
        return self.norm(x), new_cache


class Projector(nn.Module):
    def __init__(self, vis, txt):
        super().__init__()
        self.linear_1 = Linear(vis, txt, True)
        self.linear_2 = Linear(txt, txt, True)

    def forward(self, x):
        return self.linear_2(F.gelu(self.linear_1(x)))  # erf GELU ("gelu")


class Llava(nn.Module):
    """LlavaForConditionalGeneration; state_dict() keys are the modern Hugging Face names."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        vc, tc = config["vision_config"], config["text_config"]
        self.model = Module()
        self.model.vision_tower = Module()
        self.model.vision_tower.vision_model = ClipVisionModel(vc)
        self.model.multi_modal_projector = Projector(vc["hidden_size"], tc["hidden_size"])
        self.model.language_model = LlamaModel(tc)
        self.lm_head = Linear(tc["hidden_size"], tc["vocab_size"], False)
        layers = vc["num_hidden_layers"]
        fl = config["vision_feature_layer"]
        self.feature_index = fl if fl >= 0 else layers + 1 + fl  # index into hidden_states
        assert config["vision_feature_select_strategy"] == "default"

    def image_features(self, pixel_values):
        states = self.model.vision_tower.vision_model.hidden_states(pixel_values, self.feature_index)
        return self.model.multi_modal_projector(states[self.feature_index][:, 1:])

    def embed(self, input_ids, pixel_values, feats=None):
        """inputs_embeds with image features scattered (in order) into the image-token positions;
        `feats` (projected image features) may be given instead of pixel_values."""
        emb = self.model.language_model.embed_tokens(input_ids)
        is_img = input_ids == self.config["image_token_index"]
        if pixel_values is None and feats is None:
            assert not bool(is_img.any())
            return emb
        if feats is None:
            feats = self.image_features(pixel_values)
        counts = is_img.sum(1)
        assert bool((counts == feats.shape[1]).all()), "image tokens and features do not match"
        emb = emb.masked_scatter(is_img[..., None], feats.to(emb.dtype))
        return emb

    def forward(self, input_ids, pixel_values=None, positions=None, want_probs=False, feats=None,
                rope_positions=None, attn_mask=None):
        """Logits at `positions` ([B, k] indexes) or at every position; `rope_positions` and `attn_mask` as
        in LlamaModel.forward (packed sequences)."""
        hidden, probs, _ = self.model.language_model(self.embed(input_ids, pixel_values, feats), want_probs,
                                                     rope_positions, attn_mask)
        if positions is not None:
            hidden = torch.gather(hidden, 1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
        return self.lm_head(hidden), probs


def init_weights(model, seed, scheme="fanin"):
    """Deterministic init. "fanin": linear weights N(0, 1/fan_in) (residual output projections further
    scaled by 1/sqrt(2 * layers)), embeddings N(0, 1); "small": everything N(0, 0.02) (GPT-2)."""
    g = torch.Generator().manual_seed(seed)
    tc = model.config["text_config"]
    vc = model.config["vision_config"]
    for name, p in sorted(model.named_parameters()):
        if name.endswith("bias"):
            nn.init.zeros_(p)
            continue
        if "norm" in name or "layernorm" in name or "layrnorm" in name:
            nn.init.ones_(p)
            continue
        if scheme == "small":
            std = 0.02
        elif p.dim() == 1 or "embed" in name:
            std = 1.0 if "language_model" in name else 0.02 * math.sqrt(p.shape[-1]) / 4
        else:
            std = 1.0 / math.sqrt(p[0].numel())
        if name.endswith(("o_proj.weight", "down_proj.weight")):
            std /= math.sqrt(2 * tc["num_hidden_layers"])
        if name.endswith(("out_proj.weight", "fc2.weight")):
            std /= math.sqrt(2 * vc["num_hidden_layers"])
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std)


# ---------------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------------


def write_safetensors(path, tensors, metadata=None):
    """tensors: {name: float32 torch tensor}; written as F32, names sorted, 8-byte aligned header."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    blobs, offset = [], 0
    for name in sorted(tensors):
        arr = tensors[name].detach().cpu().contiguous().to(torch.float32).numpy().astype("<f4")
        raw = arr.tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n])
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32"
        s, e = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[8 + n + s : 8 + n + e], dtype="<f4").copy()).view(
            info["shape"])
    return out


def load_model(folder):
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = Llava(config)
    state = read_safetensors(os.path.join(folder, "model.safetensors"))
    missing = set(model.state_dict()) ^ set(state)
    assert not missing, f"tensor name mismatch: {sorted(missing)[:5]}"
    model.load_state_dict(state)
    return model.eval()


# ---------------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------------


def load_split(folder):
    """-> (meta, items, images uint8 [N, H, W, 3])."""
    with open(os.path.join(folder, "dataset.json")) as f:
        meta = json.load(f)
    items = []
    with open(os.path.join(folder, "items.jsonl")) as f:
        for line in f:
            if line.strip():
                items.append(json.loads(line))
    images = np.stack([load_rgb(os.path.join(folder, it["image"])) for it in items])
    return meta, items, images


def load_groups(folder):
    """A split with several questions per image -> (meta, items, images uint8 [G, H, W, 3] one per image,
    groups: per image the indexes of its items, in file order)."""
    with open(os.path.join(folder, "dataset.json")) as f:
        meta = json.load(f)
    items, groups, where = [], [], {}
    with open(os.path.join(folder, "items.jsonl")) as f:
        for line in f:
            if line.strip():
                it = json.loads(line)
                if it["image"] not in where:
                    where[it["image"]] = len(groups)
                    groups.append([])
                groups[where[it["image"]]].append(len(items))
                items.append(it)
    paths = sorted(where, key=where.get)
    images = np.stack([load_rgb(os.path.join(folder, p)) for p in paths])
    return meta, items, images, groups


def normalize_answer(text):
    return " ".join(text.strip().split())


# ---------------------------------------------------------------------------------------------------
# Batched greedy decoding
# ---------------------------------------------------------------------------------------------------


def image_features(model, preprocess_fn, images_u8, extra_u8=None):
    """Each item's image features, then its second image's (a crop, as the engine feeds `extraImages`)."""
    feats = model.image_features(torch.from_numpy(preprocess_fn(images_u8)))
    if extra_u8 is not None:
        feats = torch.cat([feats, model.image_features(torch.from_numpy(preprocess_fn(extra_u8)))], 1)
    return feats


def padded_ids(prompts, pad_id):
    """Right-padded ids [B, W] and each row's length."""
    lens = torch.tensor([len(p) for p in prompts])
    ids = torch.full((len(prompts), int(lens.max())), pad_id, dtype=torch.long)
    for i, p in enumerate(prompts):
        ids[i, : len(p)] = torch.tensor(p)
    return ids, lens


def decode_greedy(model, tok, logits, cache, lens, first_pos, max_new, trace=None):
    """Greedy continuation of prefilled right-padded prompts: from the prompts' last-position `logits`,
    one token per row with the key/value `cache`, the padding keys masked out; generated token i of row r
    sits at position first_pos[r] + i. Returns each row's tokens up to and excluding EOS. `trace`, a list,
    receives every step's logits."""
    b, width = len(lens), int(lens.max())
    lm = model.model.language_model
    gen = [[] for _ in range(b)]
    done = torch.zeros(b, dtype=torch.bool)
    # keys: prompt slots 0..width-1 (valid below each row's length), then one slot per generated token
    key_ok = torch.arange(width)[None, :] < lens[:, None]
    for step in range(max_new):
        if trace is not None:
            trace.append(logits)
        nxt = logits.argmax(-1)
        for i in range(b):
            if not done[i]:
                if int(nxt[i]) == tok.eos_id:
                    done[i] = True
                else:
                    gen[i].append(int(nxt[i]))
        if bool(done.all()) or step == max_new - 1:
            break
        key_ok = torch.cat([key_ok, torch.ones(b, 1, dtype=torch.bool)], dim=1)
        mask = torch.zeros(key_ok.shape).masked_fill(~key_ok, float("-inf"))[:, None, None, :]
        hidden, cache = lm.step(lm.embed_tokens(nxt[:, None]), first_pos + step, mask, cache)
        logits = model.lm_head(hidden[:, 0])
    return gen


@torch.no_grad()
def greedy(model, tok, questions, images_u8, max_new=4, batch=64, want_logits=False, extra_u8=None):
    """Greedy answers: for each item, the generated token ids up to and excluding EOS (at most max_new
    tokens), and optionally the float32 logits at the prompt's last position. `extra_u8` (uint8
    [N, H, W, 3], optional): a second image per item after the first, as the engine feeds a crop.

    Prompts are right-padded and run in one causal pass (a real position never sees the padding), then
    decoding continues one token per row with a key/value cache; the padding keys are masked out."""
    n_img = model.config["image_seq_length"]
    lm = model.model.language_model
    out_ids, out_logits = [], []
    for s in range(0, len(questions), batch):
        qs = questions[s : s + batch]
        feats = image_features(model, preprocess, images_u8[s : s + batch],
                               None if extra_u8 is None else extra_u8[s : s + batch])
        ids, lens = padded_ids([tok.prompt_ids(q, n_img, 1 if extra_u8 is None else 2) for q in qs], tok.pad_id)
        hidden, _, cache = lm(model.embed(ids, None, feats))
        logits = model.lm_head(hidden[torch.arange(len(qs)), lens - 1])
        if want_logits:
            out_logits.extend(logits.numpy())
        out_ids.extend(decode_greedy(model, tok, logits, cache, lens, lens, max_new))
    return (out_ids, out_logits) if want_logits else out_ids
