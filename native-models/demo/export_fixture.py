#!/usr/bin/env python3
"""Equivalence fixture for FusionScope's engine: runs a trained demo model (native-models/demo/model/ by
default; LLaVA or Qwen2-VL, told apart by its config.json; float32, exactly transformers' semantics for
LlavaForConditionalGeneration / Qwen2VLForConditionalGeneration) on every item of the committed
test split (native-models/demo/data/test/) and writes native-models/demo/model/reference_outputs.json:

  {
    "format": "fusionscope-demo-reference", "version": 1,
    "model": "native-models/demo/model", "test": "native-models/demo/data/test",
    "dtype": "float32", "max_new_tokens": 4,
    "vocab_size": V, "eos_token_id": ..., "image_token_index": ..., "image_seq_length": 64,
    "accuracy": {overall, per family, per POPE subtype (exact match of the greedy answer)},
    "items": {
      "<item id>": {
        "answer_ids": [greedy token ids, up to and excluding </s>, at most 4],
        "answer": "decoded answer", "correct": true|false,
        "last_logits": [V floats: prompt's last-position logits, 7 significant digits]
      }, ...
    },
    "prompts": [  # the first few items, for the tokenizer / preprocessing checks
      {"id": ..., "prompt": "USER: <image>\\n... ASSISTANT:", "input_ids": [...] (image token expanded),
       "pixel_values_head": [first 16 values of the float32 pixel_values: CHW, or Qwen2-VL's patch rows],
       "pixel_values_mean": [per-channel mean]}
    ]
  }

Usage: /usr/bin/python3 native-models/demo/export_fixture.py [--model DIR] [--test DIR] [--out FILE]
       [--oracle N]  (also compare the first N items' logits with native-models/reference/torch_llava.py)
train.py runs it at the end. Deterministic (torch.set_num_threads(2), no sampling).
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import llava_demo as L  # noqa: E402
import qwen2vl_demo as Q  # noqa: E402
import train as T  # noqa: E402

N_PROMPTS = 5


def sig7(x):
    return float(f"{float(x):.7g}")


def channel_means(pv, qwen):
    """Per-channel means of the tower's input: CHW planes (LLaVA), or the channel-major blocks of each
    flattened patch row (Qwen2-VL)."""
    per_channel = pv.reshape(-1, 3, pv.shape[-1] // 3) if qwen else pv.reshape(1, 3, -1)
    return per_channel.astype(np.float64).mean((0, 2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(HERE, "model"))
    ap.add_argument("--test", default=os.path.join(HERE, "data", "test"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--oracle", type=int, default=0)
    args = ap.parse_args()
    out = args.out or os.path.join(args.model, "reference_outputs.json")
    torch.set_num_threads(2)
    L.Compute.bf16 = False

    arch, model, tok = T.open_model(args.model)
    qwen = isinstance(arch, T.Qwen2VLArch)
    cfg = model.config

    meta, items, images = L.load_split(args.test)
    questions = [it["question"] for it in items]
    answer_ids, logits = arch.greedy(model, tok, questions, images, max_new=4, want_logits=True)

    fam, sub, hits = {}, {}, 0
    records = {}
    for it, ids, lg in zip(items, answer_ids, logits):
        text = tok.decode(ids)
        ok = text in [L.normalize_answer(a) for a in it["answers"]]
        hits += ok
        for key, table in ((it["family"], fam), (it.get("subtype"), sub)):
            if key:
                t = table.setdefault(key, [0, 0])
                t[0] += ok
                t[1] += 1
        records[it["id"]] = {"answer_ids": ids, "answer": text, "correct": bool(ok),
                             "last_logits": [sig7(v) for v in lg]}

    prompts = []
    for it, img in zip(items[:N_PROMPTS], images[:N_PROMPTS]):
        pv = arch.preprocess(img[None])[0]  # the engine's layout: CHW (LLaVA), flattened patches (Qwen2-VL)
        prompts.append({
            "id": it["id"],
            "prompt": (Q if qwen else L).render_prompt(it["question"]),
            "input_ids": arch.prompt(tok, it["question"]),
            "pixel_values_head": [sig7(v) for v in pv.reshape(-1)[:16]],
            "pixel_values_mean": [sig7(v) for v in channel_means(pv, qwen)],
        })

    acc = {
        "overall": hits / len(items),
        "n": len(items),
        "families": {k: {"accuracy": v[0] / v[1], "n": v[1]} for k, v in sorted(fam.items())},
        "subtypes": {k: {"accuracy": v[0] / v[1], "n": v[1]} for k, v in sorted(sub.items())},
    }
    doc = {
        "format": "fusionscope-demo-reference",
        "version": 1,
        "model": os.path.relpath(args.model, ROOT),
        "test": os.path.relpath(args.test, ROOT),
        "dtype": "float32",
        "max_new_tokens": 4,
        "vocab_size": cfg["text_config"]["vocab_size"],
        "eos_token_id": tok.eos_id,
        "image_token_index": tok.image_id,
        "image_seq_length": len([t for t in arch.prompt(tok, "") if t == tok.image_id]),
        "accuracy": acc,
        "items": records,
        "prompts": prompts,
    }
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {out}: {len(items)} items, accuracy {acc['overall']:.4f} "
          + " ".join(f"{k}={v['accuracy']:.3f}" for k, v in acc["families"].items()))

    if args.oracle and qwen:
        print("--oracle: Qwen2-VL's float64 check is check_qwen2vl.py (against reference/torch_qwen.py)")
    elif args.oracle:
        worst = 0.0
        for it, img, lg in zip(items[: args.oracle], images, logits):
            req = {"model": args.model, "input_ids": arch.prompt(tok, it["question"]),
                   "pixel_values": L.preprocess(img[None])[0].reshape(-1).tolist(), "runs": {"base": []}}
            res = subprocess.run([sys.executable, os.path.join(ROOT, "native-models", "reference", "torch_llava.py")],
                                 input=json.dumps(req), capture_output=True, text=True, check=True)
            ref = np.array(json.loads(res.stdout)["runs"]["base"]["logits"])
            rel = np.abs(ref - lg).max() / np.abs(ref).max()
            worst = max(worst, rel)
        print(f"float64 oracle (torch_llava.py), first {args.oracle} items: max relative logit difference {worst:.2e}")


if __name__ == "__main__":
    main()
