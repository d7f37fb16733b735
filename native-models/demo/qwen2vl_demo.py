"""FusionScope's second demo model (issue 19): a from-scratch Qwen2-VL-architecture model whose forward
pass is what transformers' Qwen2VLForConditionalGeneration computes (vision transformer on flattened
patches with 2-D rotary embeddings, a PatchMerger turning each 2 x 2 block of patches into one token,
Qwen2 decoder with M-RoPE), for the same synthetic visual-QA data as the LLaVA demo model, so the app can
compare two real fusion designs.

Everything that is not Qwen-specific comes from llava_demo.py: the Compute.bf16 switch and its
Linear/mm helpers, norms, the LLaMA decoder layers (Qwen2 adds q/k/v biases and M-RoPE), the word-level
tokenizer, CLIP normalisation, the safetensors writer and the data readers. Same numerics: bfloat16
matrix products for training, float32 for evaluation and export.

Fixed design: 64 x 64 RGB images, patch 4, merge 2, temporal patch 2 -> a 16 x 16 patch grid, 64 merged
image tokens in an 8 x 8 raster (the LLaVA demo's count). Qwen2VLImageProcessor's smart_resize keeps
64 x 64 with factor 8 and min_pixels = max_pixels = 4096; other images are resized by the engine to about
4096 pixels, which this module does not do (preprocess takes 64 x 64 only).

Prompt: no system message (see CHAT_TEMPLATE), answers end with <|im_end|>. Packed training: one shared
prefix (everything up to and including <|vision_end|>, Tokenizer.prefix_ids) then several question
segments; each segment's text positions restart at Qwen2VL.text_start(prefix) in all three M-RoPE
streams (Qwen2VL.packed_rope turns train.py's 1-D packed positions into them), so every answer is
computed exactly as in a one-question sequence.
"""

import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

import llava_demo as L

IMAGE_SIZE = 64

# Architecture (Qwen2-VL field names). mlp_ratio 4: transformers' int(embed_dim * mlp_ratio).
VISION = dict(embed_dim=128, depth=4, num_heads=4, mlp_ratio=4, patch_size=4, spatial_merge_size=2,
              temporal_patch_size=2, hidden_act="quick_gelu")
# head_dim 40: 20 rotary frequencies, split temporal / height / width like Qwen's [16, 24, 24] of 64.
TEXT = dict(hidden_size=160, intermediate_size=432, num_hidden_layers=12, num_attention_heads=4,
            num_key_value_heads=4, rope_theta=10000.0, rms_norm_eps=1e-6, mrope_section=[4, 8, 8])

# Both norms of the tower and the merger's ln_q: fixed in transformers' code, not in the config.
VISION_NORM_EPS = 1e-6
VISION_ROPE_THETA = 10000.0

ENDOFTEXT, IM_START, IM_END = "<|endoftext|>", "<|im_start|>", "<|im_end|>"
VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD = "<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"
# First in the vocabulary, so their ids do not depend on the dataset's words. <|video_pad|> is never used,
# but config.json must name a video_token_id inside the vocabulary. <unk> is not Qwen's: the closed
# vocabulary needs it for words it has never seen.
SPECIALS = [L.UNK, ENDOFTEXT, IM_START, IM_END, VISION_START, VISION_END, IMAGE_PAD, VIDEO_PAD]
TEMPLATE_WORDS = ["user", "assistant"]

# Qwen2-VL-Instruct's template without the default system message (it would add ~8 tokens to every
# sequence and carries nothing here); content parts as transformers' apply_chat_template passes them.
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n{% if message['content'] is string %}"
    "{{ message['content'] }}{% else %}{% for content in message['content'] %}{% if content['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif content['type'] == 'text' %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


def render_prompt(question, with_image=True, images=1):
    """What CHAT_TEMPLATE renders for [{role: user, content: [image, text question]}] (or the text alone)
    with add_generation_prompt=True; `images` > 1: every image first, as the engine feeds a crop."""
    image = (VISION_START + IMAGE_PAD + VISION_END) * images if with_image else ""
    return f"{IM_START}user\n{image}{question}{IM_END}\n{IM_START}assistant\n"


def n_image_tokens(vision=None):
    v = dict(VISION, **(vision or {}))
    side = IMAGE_SIZE // (v["patch_size"] * v["spatial_merge_size"])
    return side * side


class Tokenizer(L.Tokenizer):
    """llava_demo's closed word-level tokenizer (Whitespace pre-tokenizer, so the template's newlines
    vanish) with Qwen's special tokens and no BOS."""

    def __init__(self, words, image_tokens=n_image_tokens()):
        pieces = set()
        for w in list(words) + TEMPLATE_WORDS:
            if not all(ord(c) < 128 for c in w):
                raise SystemExit(f"non-ASCII vocabulary word {w!r}")
            pieces.update(L.pre_tokenize(w))
        self.tokens = SPECIALS + sorted(pieces - set(SPECIALS))
        self.ids = {t: i for i, t in enumerate(self.tokens)}
        self.added = list(SPECIALS)
        self.unk_id, self.pad_id, self.eos_id = self.ids[L.UNK], self.ids[ENDOFTEXT], self.ids[IM_END]
        self.image_id, self.video_id = self.ids[IMAGE_PAD], self.ids[VIDEO_PAD]
        self.vision_start_id, self.vision_end_id = self.ids[VISION_START], self.ids[VISION_END]
        self.bos_id = None  # Qwen adds none; the base class's post-processor entry is dropped below
        self.image_tokens = image_tokens

    def encode(self, text, add_bos=False):
        assert not add_bos, "Qwen's tokenizer adds no BOS"
        return super().encode(text, add_bos=False)

    def prompt_ids(self, question, images=1):
        """The chat prompt with each <|image_pad|> expanded to the image's token count (Qwen2VLProcessor)."""
        return self.encode(render_prompt(question, images=images).replace(IMAGE_PAD, IMAGE_PAD * self.image_tokens))

    def text_prompt_ids(self, question):
        """The same prompt without the image (language-only training)."""
        return self.encode(render_prompt(question, with_image=False))

    def prefix_ids(self, with_image=True, images=1):
        """What every prompt starts with, up to and including <|vision_end|> (or `<|im_start|> user`
        without the image): packed training's shared prefix. Its boundary is an added token, so prefix +
        the rest's own encoding is the prompt's encoding."""
        image = (VISION_START + IMAGE_PAD * self.image_tokens + VISION_END) * images if with_image else ""
        return self.encode(f"{IM_START}user\n{image}")

    def answer_ids(self, answer):
        return self.encode(L.normalize_answer(answer)) + [self.eos_id]

    def tokenizer_json(self):
        doc = super().tokenizer_json()
        doc["post_processor"] = None
        return doc

    def write(self, folder):
        L.write_json(os.path.join(folder, "tokenizer.json"), self.tokenizer_json(), indent=None)
        flags = {"lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
        others = [t for t in SPECIALS if t not in (L.UNK, ENDOFTEXT, IM_END)]
        L.write_json(os.path.join(folder, "tokenizer_config.json"), {
            "added_tokens_decoder": {str(self.ids[t]): {"content": t, **flags, "special": True} for t in self.added},
            "additional_special_tokens": others,
            "bos_token": None,
            "chat_template": CHAT_TEMPLATE,
            "clean_up_tokenization_spaces": False,
            "eos_token": IM_END,
            "errors": "replace",
            "image_token": IMAGE_PAD,
            "model_max_length": 512,
            "pad_token": ENDOFTEXT,
            "padding_side": "left",
            "processor_class": "Qwen2VLProcessor",
            "split_special_tokens": False,
            "tokenizer_class": "PreTrainedTokenizerFast",
            "unk_token": L.UNK,
            "video_token": VIDEO_PAD,
        })
        L.write_json(os.path.join(folder, "special_tokens_map.json"), {
            "additional_special_tokens": others,
            "eos_token": {"content": IM_END, **flags},
            "pad_token": {"content": ENDOFTEXT, **flags},
            "unk_token": {"content": L.UNK, **flags},
        })
        L.write_json(os.path.join(folder, "chat_template.json"), {"chat_template": CHAT_TEMPLATE})


# ---------------------------------------------------------------------------------------------------
# Image preprocessing: Qwen2VLImageProcessor on 64 x 64 RGB (smart_resize keeps the size).
# ---------------------------------------------------------------------------------------------------


def preprocess(images_u8, vision=None):
    """uint8 [B, H, W, 3] -> float32 pixel_values [B, N, C * T * P * P]: per image, the rows transformers'
    processor outputs for it (a batch's pixel_values concatenated them: reshape to [-1, C * T * P * P]),
    grid (1, H / P, W / P). Rescale and normalise round as transformers does (llava_demo.preprocess, the
    engine's toPixelValues), so the values are bit-identical to the engine's. Patches in (h / merge,
    w / merge, merge, merge) order, so each merged token's patches are consecutive, each flattened
    (channel, temporal, row, column); the frame repeated over the temporal patch."""
    v = dict(VISION, **(vision or {}))
    p, m, t = v["patch_size"], v["spatial_merge_size"], v["temporal_patch_size"]
    x = L.preprocess(images_u8)
    b, c, h, w = x.shape
    if (h, w) != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(f"expected {IMAGE_SIZE}x{IMAGE_SIZE} images (smart_resize would resize {w}x{h})")
    x = x.reshape(b, c, h // (p * m), m, p, w // (p * m), m, p).transpose(0, 2, 5, 3, 6, 1, 4, 7)
    x = np.broadcast_to(x[:, :, :, :, :, :, None], x.shape[:6] + (t, p, p))
    return np.ascontiguousarray(x.reshape(b, (h // p) * (w // p), c * t * p * p))


# ---------------------------------------------------------------------------------------------------
# Vision tower (Qwen2VisionTransformerPretrainedModel, as model.visual)
# ---------------------------------------------------------------------------------------------------

ACTIVATIONS = {"quick_gelu": L.quick_gelu, "gelu": F.gelu, "silu": F.silu}


class VisionAttention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.qkv = L.Linear(dim, 3 * dim, True)
        self.proj = L.Linear(dim, dim, True)

    def forward(self, x, cos, sin):
        # One image per row: transformers' cu_seqlens segments are the batch rows here.
        b, n, d = x.shape
        h, hd = self.heads, d // self.heads
        q, k, v = self.qkv(x).view(b, n, 3, h, hd).permute(2, 0, 3, 1, 4).unbind(0)
        q = q * cos + L.rotate_half(q) * sin
        k = k * cos + L.rotate_half(k) * sin
        scores = L.mm(q, k.transpose(-1, -2)) * hd**-0.5
        probs = torch.softmax(scores, dim=-1, dtype=torch.float32)
        return self.proj(L.mm(probs, v).transpose(1, 2).reshape(b, n, d))


class VisionBlock(nn.Module):
    def __init__(self, vc):
        super().__init__()
        d = vc["embed_dim"]
        inner = int(d * vc["mlp_ratio"])
        self.norm1 = L.LayerNorm(d, VISION_NORM_EPS)
        self.norm2 = L.LayerNorm(d, VISION_NORM_EPS)
        self.attn = VisionAttention(d, vc["num_heads"])
        self.mlp = L.Module()
        self.mlp.fc1 = L.Linear(d, inner, True)
        self.mlp.fc2 = L.Linear(inner, d, True)
        self.act = ACTIVATIONS[vc["hidden_act"]]

    def forward(self, x, cos, sin):
        x = x + self.attn(self.norm1(x), cos, sin)
        return x + self.mlp.fc2(self.act(self.mlp.fc1(self.norm2(x))))


class PatchMerger(nn.Module):
    def __init__(self, context_dim, out_dim, merge):
        super().__init__()
        self.context_dim = context_dim
        width = context_dim * merge * merge
        self.ln_q = L.LayerNorm(context_dim, VISION_NORM_EPS)
        self.mlp = nn.Sequential(L.Linear(width, width, True), nn.GELU(), L.Linear(width, out_dim, True))

    def forward(self, cells):
        """cells [B, T, merge^2 * C] (a token's patches side by side) -> [B, T, out_dim]; ln_q acts per patch."""
        b, t, width = cells.shape
        x = self.ln_q(cells.view(b, t, width // self.context_dim, self.context_dim)).view(b, t, width)
        return self.mlp(x)


def vision_rotary(vc, grid_h, grid_w):
    """rot_pos_emb for one image's (grid_h, grid_w) patches in the processor's order, then (as
    Qwen2VisionTransformerPretrainedModel.forward) emb = cat(rot, rot): cos, sin [N, head_dim] in float32.
    The first half of each half-head rotates with the patch row, the second with its column."""
    m = vc["spatial_merge_size"]
    dim = vc["embed_dim"] // vc["num_heads"] // 2
    hpos = torch.arange(grid_h)[:, None].expand(-1, grid_w)
    wpos = torch.arange(grid_w)[None, :].expand(grid_h, -1)

    def order(pos):  # the processor's (h / merge, w / merge, merge, merge) patch order
        return pos.reshape(grid_h // m, m, grid_w // m, m).permute(0, 2, 1, 3).flatten()

    inv_freq = 1.0 / (VISION_ROPE_THETA ** (torch.arange(0, dim, 2, dtype=torch.float) / dim))
    table = torch.outer(torch.arange(max(grid_h, grid_w), dtype=torch.float), inv_freq)
    rot = table[torch.stack([order(hpos), order(wpos)], dim=-1)].flatten(1)
    emb = torch.cat([rot, rot], dim=-1)
    return emb.cos(), emb.sin()


class VisionTower(nn.Module):
    def __init__(self, vc, out_dim):
        super().__init__()
        d, p, t = vc["embed_dim"], vc["patch_size"], vc["temporal_patch_size"]
        self.patch_embed = L.Module()
        self.patch_embed.proj = nn.Conv3d(3, d, (t, p, p), stride=(t, p, p), bias=False)
        self.blocks = nn.ModuleList([VisionBlock(vc) for _ in range(vc["depth"])])
        self.merger = PatchMerger(d, out_dim, vc["spatial_merge_size"])
        self.unit = vc["spatial_merge_size"] ** 2
        side = IMAGE_SIZE // p
        cos, sin = vision_rotary(vc, side, side)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)

    def cells(self, pixel_values):
        """[B, N, C*T*P*P] -> the last block's output [B, N / merge^2, merge^2 * embed_dim], a merged
        token's patches side by side (the merger's input before ln_q)."""
        w = self.patch_embed.proj.weight
        # Conv3d with kernel = stride over one flattened (c, t, y, x) patch: a dot product with the kernel.
        x = L.mm_linear(pixel_values, w.reshape(w.shape[0], -1))
        for block in self.blocks:
            x = block(x, self.rope_cos, self.rope_sin)
        b, n, d = x.shape
        return x.reshape(b, n // self.unit, self.unit * d)


# ---------------------------------------------------------------------------------------------------
# Language model (Qwen2VLTextModel, as model.language_model)
# ---------------------------------------------------------------------------------------------------


class Qwen2Text(L.LlamaModel):
    """llava_demo's LLaMA decoder with Qwen2's q/k/v biases and M-RoPE. forward() takes `positions`
    [3, B, n] (temporal, height, width streams); step() takes text positions [B], where the three
    streams are equal and M-RoPE is exactly 1-D RoPE."""

    def __init__(self, tc):
        super().__init__(tc)
        d, h, kv = tc["hidden_size"], tc["num_attention_heads"], tc["num_key_value_heads"]
        hd = d // h
        for layer in self.layers:
            a = layer.self_attn
            a.q_proj = L.Linear(d, h * hd, True)
            a.k_proj = L.Linear(d, kv * hd, True)
            a.v_proj = L.Linear(d, kv * hd, True)
        self.section = list(tc["rope_scaling"]["mrope_section"])
        assert sum(self.section) == hd // 2, "mrope_section must sum to head_dim / 2"

    def rope(self, positions):
        if positions.dim() != 3:
            return super().rope(positions)
        # Qwen2VLRotaryEmbedding: each stream's ordinary table; then apply_multimodal_rotary_pos_emb takes
        # frequency chunk i (of mrope_section * 2, both halves) from stream i % 3.
        cos, sin = super().rope(positions)
        chunks = self.section * 2

        def mix(t):
            return torch.cat([c[i % 3] for i, c in enumerate(t.split(chunks, dim=-1))], dim=-1)

        return mix(cos), mix(sin)


# ---------------------------------------------------------------------------------------------------
# Qwen2VLForConditionalGeneration
# ---------------------------------------------------------------------------------------------------


class Qwen2VL(nn.Module):
    """state_dict() keys are transformers' modern names (model.visual., model.language_model.,
    lm_head.), which the engine opens as it opens the hub's legacy ones."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        vc, tc = config["vision_config"], config["text_config"]
        self.model = L.Module()
        self.model.visual = VisionTower(vc, vc["hidden_size"])
        self.model.language_model = Qwen2Text(tc)
        self.lm_head = L.Linear(tc["hidden_size"], tc["vocab_size"], False)
        side = IMAGE_SIZE // (vc["patch_size"] * vc["spatial_merge_size"])
        self.llm_grid = (1, side, side)  # get_rope_index's (t, h / merge, w / merge)
        self.n_image_tokens = side * side
        self.image_id = config["image_token_id"]
        self.vision_start_id = config["vision_start_token_id"]
        assert not config["tie_word_embeddings"] and not tc.get("tie_word_embeddings", False)

    def vision_cells(self, pixel_values):
        """Per merged token, in the 8 x 8 raster order of the image tokens: the tower's last block output
        of its 2 x 2 patches side by side [B, 64, 4 * embed_dim] (the merger's input; the per-cell
        auxiliary head of vision pre-training reads this, like LLaVA's feature-layer patches)."""
        return self.model.visual.cells(pixel_values)

    def merge(self, cells):
        """The PatchMerger (LLaVA's projector): vision_cells -> image features [B, 64, hidden]."""
        return self.model.visual.merger(cells)

    def image_features(self, pixel_values):
        return self.merge(self.vision_cells(pixel_values))

    def embed(self, input_ids, pixel_values=None, feats=None):
        """inputs_embeds with the image features scattered (in order) into the <|image_pad|> positions;
        `feats` (merged image features) may be given instead of pixel_values."""
        emb = self.model.language_model.embed_tokens(input_ids)
        is_img = input_ids == self.image_id
        if pixel_values is None and feats is None:
            assert not bool(is_img.any())
            return emb
        if feats is None:
            feats = self.image_features(pixel_values)
        assert bool((is_img.sum(1) == feats.shape[1]).all()), "image tokens and features do not match"
        return emb.masked_scatter(is_img[..., None], feats.to(emb.dtype))

    def rope_index(self, input_ids):
        """get_rope_index: M-RoPE position ids [3, B, n]. Text advances all three streams together; an
        image (<|vision_start|> then its <|image_pad|> tokens) takes (t, row, column) offsets from the
        next text position, and the text after it resumes one past the largest. Rows are not unpadded:
        trailing padding gets continuing text positions, which no real position attends to."""
        t, h, w = self.llm_grid
        grid = torch.stack(torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij"))
        grid = grid.reshape(3, -1)
        out = torch.empty((3,) + tuple(input_ids.shape), dtype=torch.long)
        for r, row in enumerate(input_ids.tolist()):
            parts, st, nxt = [], 0, 0
            for s in range(len(row) - 1):
                if s >= st and row[s] == self.vision_start_id and row[s + 1] == self.image_id:
                    ed = s + 1
                    parts.append(torch.arange(nxt, nxt + ed - st).expand(3, -1))
                    nxt += ed - st
                    parts.append(grid + nxt)
                    nxt += max(t, h, w)
                    st = ed + t * h * w
            parts.append(torch.arange(nxt, nxt + len(row) - st).expand(3, -1))
            out[:, r] = torch.cat(parts, dim=1)
        return out

    def text_start(self, prefix_ids):
        """The position of the first text token after `prefix_ids` (one past its largest position)."""
        return int(self.rope_index(torch.tensor([prefix_ids]))[:, 0, -1].max()) + 1

    def packed_rope(self, prefix_ids, rope):
        """train.py's packed 1-D positions [B, W] (prefix 0..p-1, every segment restarting at p) -> M-RoPE
        ids [3, B, W]: the prefix's own get_rope_index, segment positions moved to start at
        text_start(prefix) in all three streams. Columns past a row's last segment are padding."""
        p = len(prefix_ids)
        out = (rope - p + self.text_start(prefix_ids))[None].repeat(3, 1, 1)
        out[:, :, :p] = self.rope_index(torch.tensor([prefix_ids]))[:, :1]
        return out

    def forward(self, input_ids, pixel_values=None, positions=None, want_probs=False, feats=None,
                rope_positions=None, attn_mask=None):
        """Logits at `positions` ([B, k] indexes) or at every position. `rope_positions` [3, B, n] default
        to rope_index(input_ids) (unpacked prompts); `attn_mask` [B, 1, n, n] additive, default causal."""
        if rope_positions is None:
            rope_positions = self.rope_index(input_ids)
        embeds = self.embed(input_ids, pixel_values, feats)
        hidden, probs, _ = self.model.language_model(embeds, want_probs=want_probs, positions=rope_positions,
                                                     mask=attn_mask)
        if positions is not None:
            hidden = torch.gather(hidden, 1, positions[..., None].expand(-1, -1, hidden.shape[-1]))
        return self.lm_head(hidden), probs


def init_weights(model, seed):
    """Deterministic init, llava_demo's "fanin" scheme under Qwen's names: linear weights (and the patch
    kernel) N(0, 1/fan_in), residual output projections further scaled by 1/sqrt(2 * layers), token
    embeddings N(0, 1), norms 1, biases 0."""
    g = torch.Generator().manual_seed(seed)
    layers = {"language_model": model.config["text_config"]["num_hidden_layers"],
              "visual": model.config["vision_config"]["depth"]}
    for name, p in sorted(model.named_parameters()):
        if name.endswith("bias"):
            nn.init.zeros_(p)
            continue
        if p.dim() == 1:  # every norm weight (layernorm, norm1/2, ln_q, norm)
            nn.init.ones_(p)
            continue
        std = 1.0 if name.endswith("embed_tokens.weight") else 1.0 / math.sqrt(p[0].numel())
        if name.endswith(("o_proj.weight", "down_proj.weight", "attn.proj.weight", "fc2.weight")):
            std /= math.sqrt(2 * layers["language_model" if "language_model" in name else "visual"])
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=g) * std)


# ---------------------------------------------------------------------------------------------------
# Config, export, load
# ---------------------------------------------------------------------------------------------------


def build_config(tok, vision=None, text=None):
    """config.json of Qwen2VLForConditionalGeneration (transformers >= 4.52 layout: text_config)."""
    v = dict(VISION, **(vision or {}))
    t = dict(TEXT, **(text or {}))
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"],
        "model_type": "qwen2_vl",
        "image_token_id": tok.image_id,
        "video_token_id": tok.video_id,
        "vision_start_token_id": tok.vision_start_id,
        "vision_end_token_id": tok.vision_end_id,
        "tie_word_embeddings": False,
        "torch_dtype": "float32",
        "transformers_version": "4.53.0",
        "text_config": {
            "model_type": "qwen2_vl_text",
            "vocab_size": tok.vocab_size,
            "hidden_size": t["hidden_size"],
            "intermediate_size": t["intermediate_size"],
            "num_hidden_layers": t["num_hidden_layers"],
            "num_attention_heads": t["num_attention_heads"],
            "num_key_value_heads": t["num_key_value_heads"],
            "hidden_act": "silu",
            "max_position_embeddings": 512,
            "rms_norm_eps": t["rms_norm_eps"],
            "rope_theta": t["rope_theta"],
            "rope_scaling": {"mrope_section": list(t["mrope_section"]), "rope_type": "default", "type": "default"},
            "attention_dropout": 0.0,
            "use_sliding_window": False,
            "sliding_window": 512,
            "max_window_layers": t["num_hidden_layers"],
            "initializer_range": 0.02,
            "bos_token_id": tok.pad_id,
            "eos_token_id": tok.eos_id,
            "pad_token_id": tok.pad_id,
            "tie_word_embeddings": False,
            "use_cache": True,
            "torch_dtype": "float32",
        },
        "vision_config": {
            "model_type": "qwen2_vl",
            "depth": v["depth"],
            "embed_dim": v["embed_dim"],
            # Qwen2VLVisionConfig.hidden_size: the merger's output, the language model's width
            "hidden_size": t["hidden_size"],
            "hidden_act": v["hidden_act"],
            "mlp_ratio": v["mlp_ratio"],
            "num_heads": v["num_heads"],
            "in_channels": 3,
            "patch_size": v["patch_size"],
            "spatial_merge_size": v["spatial_merge_size"],
            "temporal_patch_size": v["temporal_patch_size"],
            "initializer_range": 0.02,
        },
    }


def export(model, tok, folder):
    os.makedirs(folder, exist_ok=True)
    vc = model.config["vision_config"]
    L.write_json(os.path.join(folder, "config.json"), model.config)
    L.write_safetensors(os.path.join(folder, "model.safetensors"), model.state_dict(), {"format": "pt"})
    tok.write(folder)
    L.write_json(os.path.join(folder, "generation_config.json"), {
        "bos_token_id": tok.pad_id,
        "eos_token_id": tok.eos_id,
        "pad_token_id": tok.pad_id,
        "max_new_tokens": 4,
        "do_sample": False,
        "transformers_version": "4.53.0",
    })
    pixels = IMAGE_SIZE * IMAGE_SIZE  # min = max: every image is resized to about 64 x 64
    L.write_json(os.path.join(folder, "preprocessor_config.json"), {
        "do_convert_rgb": True,
        "do_normalize": True,
        "do_rescale": True,
        "do_resize": True,
        "image_mean": L.CLIP_MEAN,
        "image_processor_type": "Qwen2VLImageProcessor",
        "image_std": L.CLIP_STD,
        "max_pixels": pixels,
        "merge_size": vc["spatial_merge_size"],
        "min_pixels": pixels,
        "patch_size": vc["patch_size"],
        "processor_class": "Qwen2VLProcessor",
        "resample": 3,
        "rescale_factor": 1 / 255,
        "size": {"longest_edge": pixels, "shortest_edge": pixels},
        "temporal_patch_size": vc["temporal_patch_size"],
    })


def load_model(folder):
    """-> (model in eval mode, tokenizer) from an exported folder."""
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    model = Qwen2VL(config)
    state = L.read_safetensors(os.path.join(folder, "model.safetensors"))
    mismatch = set(model.state_dict()) ^ set(state)
    assert not mismatch, f"tensor name mismatch: {sorted(mismatch)[:5]}"
    model.load_state_dict(state)
    with open(os.path.join(folder, "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    words = [t for t, _ in sorted(vocab.items(), key=lambda kv: kv[1])]
    tok = Tokenizer([w for w in words if w not in SPECIALS], image_tokens=model.n_image_tokens)
    assert tok.tokens == words, "tokenizer.json does not round-trip through qwen2vl_demo.Tokenizer"
    return model.eval(), tok


# ---------------------------------------------------------------------------------------------------
# Batched greedy decoding
# ---------------------------------------------------------------------------------------------------


@torch.no_grad()
def greedy(model, tok, questions, images_u8, max_new=4, batch=64, want_logits=False, trace=None, extra_u8=None):
    """llava_demo.greedy for Qwen2-VL: right-padded prompts in one causal pass with get_rope_index
    positions, then one token per row with the key/value cache. Generated token i sits at M-RoPE
    position (prompt's largest position) + 1 + i in all three streams (transformers' rope_deltas).
    `trace`, a list, receives every step's logits [B, V] (the prompt's last position first). `extra_u8`:
    a second image per item after the first, as in llava_demo.greedy."""
    lm = model.model.language_model
    out_ids, out_logits = [], []
    for s in range(0, len(questions), batch):
        qs = questions[s : s + batch]
        feats = L.image_features(model, preprocess, images_u8[s : s + batch],
                                 None if extra_u8 is None else extra_u8[s : s + batch])
        ids, lens = L.padded_ids([tok.prompt_ids(q, 1 if extra_u8 is None else 2) for q in qs], tok.pad_id)
        rope = model.rope_index(ids)
        hidden, _, cache = lm(model.embed(ids, None, feats), positions=rope)
        rows = torch.arange(len(qs))
        logits = model.lm_head(hidden[rows, lens - 1])
        if want_logits:
            out_logits.extend(logits.numpy())
        # the prompt ends with text, whose position is its largest
        out_ids.extend(L.decode_greedy(model, tok, logits, cache, lens, rope[0, rows, lens - 1] + 1, max_new, trace))
    return (out_ids, out_logits) if want_logits else out_ids
