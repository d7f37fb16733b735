#!/usr/bin/env python3
"""Scores an exported demo model (LLaVA or Qwen2-VL, told apart by its config.json) on any splits of the
synthetic benchmark: greedy exact match, overall, per family (locate and spatial also per axis) and per
POPE subtype, with the image, with it replaced by a blank image of its mean colour (how much the answers
depend on seeing the image), and with a crop of the item's own boxes fed after it as a second image (an
oracle crop refinement; items without boxes get a seeded random square), cut as the engine cuts crops
(crops.py).

    /usr/bin/python3 native-models/demo/evaluate.py --model DIR --split DIR [--split DIR ...] [--json FILE]

For the model card's numbers on fresh data, generate a split from a seed no test uses, e.g.
`npx tsx main/engine/synthetic/cli.ts --out /tmp/fresh --split test --count 2400 --seed 9119`.
Float32 throughout, as the export and the engine; torch.set_num_threads(2).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import crops as C  # noqa: E402
import llava_demo as L  # noqa: E402
import train as T  # noqa: E402


def families_line(res):
    """Per family, then locate and spatial per axis (`locate horizontal=...`)."""
    return " ".join(f"{k}={v['accuracy']:.3f}" for k, v in {**res["families"], **res["axes"]}.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--split", action="append", required=True, help="a split folder (repeatable)")
    ap.add_argument("--json", help="write the numbers here")
    args = ap.parse_args()
    torch.set_num_threads(2)
    L.Compute.bf16 = False
    arch, model, tok = T.open_model(args.model)
    results = {"model": os.path.abspath(args.model), "splits": {}}
    for folder in args.split:
        meta, items, images = L.load_split(folder)
        questions = [it["question"] for it in items]
        entry = {"seed": meta.get("seed"), "families_asked": meta.get("families")}
        rng = np.random.default_rng(0)
        size = images.shape[1]
        crops = np.stack([C.crop_image(im, C.crop_rect(it["boxes"], size, size // T.CELL_GRID, rng=rng), size)
                          for it, im in zip(items, images)])
        for variant, pixels, extra in (("image", images, None), ("blank", T.blank_images(images), None),
                                       ("crop", images, crops)):
            started = time.time()
            res, _ = T.score(tok, items, arch.greedy(model, tok, questions, pixels, extra_u8=extra))
            entry[variant] = res
            print(f"{folder} [{variant}] {res['accuracy']:.4f} (n {res['n']}) {families_line(res)} "
                  f"({time.time() - started:.0f}s)", flush=True)
        results["splits"][os.path.abspath(folder)] = entry
    if args.json:
        L.write_json(args.json, results)


if __name__ == "__main__":
    main()
