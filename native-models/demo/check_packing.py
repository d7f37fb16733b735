#!/usr/bin/env python3
"""Checks that packed training computes what one-question sequences compute: for a split with several
questions per image, the float32 logits at every answer position of a packed batch (train.py's
make_packed_batch, with one image, with none, and with a crop as a second image) equal those of each
question run alone in its own sequence — the layout the evaluation and the engine use — on a small
randomly initialised model of each architecture. Exits 1 on a difference above the tolerance.

    /usr/bin/python3 native-models/demo/check_packing.py --split DIR   # DIR: --question-regions any
"""

import argparse
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import crops as C  # noqa: E402
import llava_demo as L  # noqa: E402
import qwen2vl_demo as Q  # noqa: E402
import train as T  # noqa: E402

TOLERANCE = 1e-4  # float32, the same products in a different order (masked keys contribute exact zeros)
SMALL = {"llava": ({"num_hidden_layers": 3}, {"num_hidden_layers": 2}), "qwen2vl": ({"depth": 2}, {"num_hidden_layers": 2})}


def alone(arch, model, tok, item, image, crop, variant):
    """Logits at the answer positions of `item` in a sequence of its own."""
    answer = arch.answer(tok, item["answers"][0])
    if variant == "text":
        prompt, feats = arch.text_prompt(tok, item["question"]), None
    else:
        images = [image] if variant == "image" else [image, crop]
        prompt = arch.prompt(tok, item["question"], len(images))
        feats = torch.cat([model.image_features(torch.from_numpy(arch.preprocess(im[None]))) for im in images], 1)
    ids = torch.tensor([prompt + answer])
    at = torch.arange(len(prompt) - 1, len(prompt) - 1 + len(answer))[None]
    return model(ids, None, positions=at, feats=feats)[0][0]


def check(name, split, n_images):
    torch.manual_seed(0)
    meta, items, images, groups = L.load_groups(split)
    groups = groups[:n_images]
    vision, text = SMALL[name]
    arch = T.ARCHITECTURES[name](vision, text)
    tok = arch.tokenizer(meta["vocabulary"])
    model = arch.new_model(tok).eval()
    packed = T.PackedEncoded(arch, tok, items, images, groups)
    idx = np.arange(len(groups))
    crops = C.training_crops([[items[i] for i in g] for g in groups], images[idx], np.random.default_rng(0), 8)
    worst, answers = 0.0, 0
    with torch.no_grad():
        for variant in ("image", "text", "crop"):
            with_image = variant != "text"
            ids, pv, pos, tgt, rope, mask = T.make_packed_batch(packed, idx, tok, with_image,
                                                                crops if variant == "crop" else None)
            prefix = packed.prefix["crop" if variant == "crop" else with_image]
            feats = torch.cat([model.image_features(p) for p in pv], 1) if pv else None
            logits, _ = model(ids, None, positions=pos, feats=feats, rope_positions=arch.rope(model, prefix, rope),
                              attn_mask=mask)
            for r, group in enumerate(groups):
                k = 0
                for i in group:
                    ref = alone(arch, model, tok, items[i], images[r], crops[r], variant)
                    got = logits[r, k : k + len(ref)]
                    worst = max(worst, (got - ref).abs().max().item() / max(ref.abs().max().item(), 1e-6))
                    answers += len(ref)
                    k += len(ref)
    print(f"{name}: {answers} answer positions compared (image, no image, image + crop): worst relative "
          f"difference {worst:.2e} (tolerance {TOLERANCE:.0e})")
    return worst <= TOLERANCE


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--split", required=True)
    ap.add_argument("--images", type=int, default=4)
    args = ap.parse_args()
    ok = [check(name, args.split, args.images) for name in T.ARCHITECTURES]
    if not all(ok):
        sys.exit(1)


if __name__ == "__main__":
    main()
