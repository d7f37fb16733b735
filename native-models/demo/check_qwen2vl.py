#!/usr/bin/env python3
"""Proves qwen2vl_demo.py computes Qwen2VLForConditionalGeneration, on a small random checkpoint (2
decoder layers, the demo's vision tower and tokenizer) exported to a temporary folder, with weights drawn
by native-models/reference/torch_qwen.py's `weights` command (transformers' tensor names; non-zero
biases, non-unit norms):

  1. oracle: float32 logits at every position vs torch_qwen.py's independent float64 forward (its own
     preprocessing with Pillow/numpy, vision tower, get_rope_index, M-RoPE decoder) on a test image;
     also the pixel values, the merged image features, the expanded ids and the M-RoPE positions;
  2. packed: several questions after one shared prefix (packed_rope positions, segment mask) give the
     answer-position logits of one question per sequence, with and without the image;
  3. cache: greedy() with the key/value cache gives, at every step, the logits of a full recompute of
     prompt + tokens so far;
  4. engine: FusionScope's engine opens the folder (an inline `npx tsx` program: openModel, prepareSample,
     forward, decodeGreedy, as main/engine/demoModel.test.ts) and reproduces the expanded ids, the M-RoPE
     positions, the flattened pixel values (bit for bit), the last-position logits and greedy answers.

Exits 1 when a check fails. `--corrupt NAME` breaks one thing on purpose, to show the checks can fail:
  mrope  (mrope_section [8, 8, 4] in the PyTorch model: 1 and 4 fail)
  merge  (merged tokens in column-major instead of raster order: 1 and 4 fail)
  packed (segments' text positions one too far: 2 fails)
  cache  (decoding positions one too far: 3 fails)

    /usr/bin/python3 native-models/demo/check_qwen2vl.py [--corrupt NAME] [--keep DIR]
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "native-models", "reference"))

import llava_demo as L  # noqa: E402
import qwen2vl_demo as Q  # noqa: E402
import torch_qwen as R  # noqa: E402

ORACLE_TOL = 1e-4  # float32 vs float64
PACKED_TOL = 1e-4  # float32, same products in another order
CACHE_TOL = 1e-4
ENGINE_TOL = 1e-3  # float32 ONNX Runtime vs float32 torch (demoModel.test.ts's bar)
SEED = 1907

# tsx evaluates -e code as CommonJS: no top-level await.
ENGINE_PROGRAM = r"""
(async () => {
const { readFileSync } = await import('node:fs');
const { openModel } = await import('./main/engine/model/openModel.ts');
const { forward, planFor, prepareSample } = await import('./main/engine/inference/forward.ts');
const { decodeGreedy, prefilledState } = await import('./main/engine/inference/generate.ts');
const request = JSON.parse(readFileSync(process.env.QWEN2VL_CHECK_REQUEST, 'utf8'));
const model = await openModel(request.model, { provider: 'cpu' });
const out = [];
for (const item of request.items) {
  const sample = await prepareSample(model, { image: item.image, prompt: { kind: 'question', text: item.question } });
  const result = await forward(model, sample, { attentionRows: [] });
  const state = prefilledState(sample, result.lastLogits, result.present, planFor(model, sample));
  const answer = await decodeGreedy(model, state, request.max_new);
  out.push({
    text: sample.text,
    expandedIds: sample.expandedIds,
    positions: sample.positions.streams.map((s) => Array.from(s)),
    grid: [sample.image.patches.t, sample.image.patches.h, sample.image.patches.w],
    patches: Array.from(sample.image.patches.values),
    lastLogits: Array.from(result.lastLogits),
    answerIds: answer.tokenIds,
  });
}
await model.close();
process.stdout.write(JSON.stringify(out));
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
"""


def rel(a, b):
    """max |a - b| / max |b| (b the reference), as export_fixture.py and the engine tests measure."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))


class Report:
    def __init__(self):
        self.failed = []

    def check(self, name, ok, detail):
        print(f"  [{'ok' if ok else 'FAIL'}] {name}: {detail}", flush=True)
        if not ok:
            self.failed.append(name)


def corrupt(model, name):
    if name == "mrope":
        model.model.language_model.section = [8, 8, 4]
    elif name == "merge":
        cells = model.vision_cells

        def transposed(pv):
            c = cells(pv)
            side = int(round(c.shape[1] ** 0.5))
            return c.view(c.shape[0], side, side, -1).transpose(1, 2).reshape(c.shape)

        model.vision_cells = transposed
    elif name == "packed":
        start = model.text_start
        model.text_start = lambda prefix: start(prefix) + 1
    elif name == "cache":
        lm = model.model.language_model
        step = lm.step
        lm.step = lambda emb, pos, mask, cache: step(emb, pos + 1, mask, cache)


def oracle_check(rep, model, tok, folder, image, question):
    cfg = R.parse_config(json.load(open(os.path.join(folder, "config.json"))))
    W = R.load_state(folder)
    pixels, grid = R.preprocess(folder, image.tobytes(), image.shape[1], image.shape[0])
    pv = torch.from_numpy(Q.preprocess(image[None]))
    rep.check("oracle: pixel values", tuple(grid) == (1, 16, 16) and rel(pv[0], pixels) < 1e-6,
              f"grid {tuple(grid)}, max relative difference {rel(pv[0], pixels):.1e} (float32 vs float64 arithmetic)")
    feats64 = R.vision_tower(cfg, W, pixels, grid)
    with torch.no_grad():
        feats = model.image_features(pv)[0]
    e = rel(feats, feats64)
    rep.check("oracle: image features", e < ORACLE_TOL, f"64 merged tokens, max relative error {e:.2e}")

    unexpanded = tok.encode(Q.render_prompt(question))
    ids = []
    for t in unexpanded:
        ids.extend([t] * feats64.shape[0] if t == cfg["image_token_id"] else [t])
    ids = torch.tensor(ids)
    positions = R.get_rope_index(cfg, ids, grid)
    ours = tok.prompt_ids(question)
    rep.check("oracle: expanded ids", ours == ids.tolist(), f"{len(ours)} ids")
    rope = model.rope_index(torch.tensor([ours]))[:, 0]
    rep.check("oracle: M-RoPE positions", torch.equal(rope, positions), "get_rope_index, 3 streams")

    embeds = torch.nn.functional.embedding(ids, W["model.language_model.embed_tokens.weight"]).clone()
    is_image = ids == cfg["image_token_id"]
    embeds[is_image] = feats64
    where = torch.nonzero(is_image).flatten().tolist()
    span = (where[0], where[-1] + 1)
    # torch_qwen's decoder returns the last position's logits: run it on every prefix (causal, so the
    # logits at position i are those of the first i + 1 tokens).
    ref = torch.stack([R.decoder(cfg, W, embeds[: i + 1], positions[:, : i + 1], span, [])[0] for i in range(len(ids))])
    with torch.no_grad():
        logits, _ = model(torch.tensor([ours]), pv)
    per_pos = [rel(logits[0, i], ref[i]) for i in range(len(ids))]
    worst = max(per_pos)
    rep.check("oracle: logits, all positions", worst < ORACLE_TOL,
              f"{len(ids)} positions x {ref.shape[1]} logits, max relative error {worst:.2e} (at position "
              f"{int(np.argmax(per_pos))}; last position {per_pos[-1]:.2e})")


def packed_check(rep, model, tok, images, questions, answers, per_image):
    """Packs `per_image` questions per image as train.py's make_packed_batch does (prefix once, segment
    j sees the prefix and itself, 1-D positions restarting at the prefix length), then packed_rope."""
    worst, n_answers = 0.0, 0
    for with_image in (True, False):
        prefix = tok.prefix_ids(with_image)
        p = len(prefix)
        rows, singles = [], []
        for g in range(len(images)):
            segs = []
            for j in range(per_image):
                k = g * per_image + j
                prompt = tok.prompt_ids(questions[k]) if with_image else tok.text_prompt_ids(questions[k])
                assert prompt[:p] == prefix, "prompt does not start with the shared prefix"
                segs.append((prompt[p:], tok.answer_ids(answers[k])))
                singles.append((g, prompt, segs[-1][1]))
            rows.append(segs)
        width = max(p + sum(len(q) + len(a) for q, a in segs) for segs in rows)
        b = len(rows)
        ids = torch.full((b, width), tok.pad_id, dtype=torch.long)
        rope1d = torch.zeros((b, width), dtype=torch.long)
        segment = torch.full((b, width), -1, dtype=torch.long)
        where = []  # per question: (row, answer-predicting positions)
        for r, segs in enumerate(rows):
            ids[r, :p] = torch.tensor(prefix)
            rope1d[r, :p] = torch.arange(p)
            segment[r, :p] = 0
            at = p
            for j, (q, a) in enumerate(segs):
                end = at + len(q) + len(a)
                ids[r, at:end] = torch.tensor(q + a)
                rope1d[r, at:end] = torch.arange(p, p + len(q) + len(a))
                segment[r, at:end] = j + 1
                where.append((r, torch.arange(at + len(q) - 1, end - 1)))
                at = end
        order = torch.arange(width)
        visible = (order[None, None, :] <= order[None, :, None]) & (
            (segment[:, None, :] == 0) | (segment[:, None, :] == segment[:, :, None]))
        mask = torch.zeros(visible.shape).masked_fill(~visible, float("-inf"))[:, None]
        pv = torch.from_numpy(Q.preprocess(images)) if with_image else None
        with torch.no_grad():
            packed, _ = model(ids, pv, rope_positions=model.packed_rope(prefix, rope1d), attn_mask=mask)
            for (g, prompt, answer), (r, pos) in zip(singles, where):
                seq = torch.tensor([prompt + answer])
                single, _ = model(seq, None if pv is None else pv[g : g + 1])
                start = len(prompt) - 1
                ref = single[0, start : start + len(answer)]
                worst = max(worst, rel(packed[r, pos], ref))
                n_answers += len(answer)
    rep.check("packed vs one question per sequence", worst < PACKED_TOL,
              f"{len(images)} images x {per_image} questions, {n_answers} answer positions (with and without "
              f"the image), max relative error {worst:.2e}")


def cache_check(rep, model, tok, images, questions, max_new=5):
    trace = []
    Q.greedy(model, tok, questions, images, max_new=max_new, trace=trace)
    fed = torch.stack([lg.argmax(-1) for lg in trace], dim=1)  # what each step fed back
    pv = torch.from_numpy(Q.preprocess(images))
    worst = 0.0
    with torch.no_grad():
        for i, q in enumerate(questions):
            prompt = tok.prompt_ids(q)
            for s in range(len(trace)):
                seq = torch.tensor([prompt + fed[i, :s].tolist()])
                full, _ = model(seq, pv[i : i + 1], positions=torch.tensor([[seq.shape[1] - 1]]))
                worst = max(worst, rel(trace[s][i], full[0, 0]))
    rep.check("greedy with KV cache vs full recompute", worst < CACHE_TOL and len(trace) >= 3,
              f"{len(questions)} prompts of lengths {sorted(len(tok.prompt_ids(q)) for q in questions)} (right-padded) "
              f"x {len(trace)} steps, max relative "
              f"error {worst:.2e}")


def engine_check(rep, model, tok, folder, paths, images, questions, max_new=4):
    request = os.path.join(folder, "engine_request.json")
    L.write_json(request, {"model": folder, "max_new": max_new,
                           "items": [{"image": p, "question": q} for p, q in zip(paths, questions)]})
    t0 = time.time()
    res = subprocess.run(["npx", "tsx", "-e", ENGINE_PROGRAM], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, QWEN2VL_CHECK_REQUEST=request))
    if res.returncode != 0:
        rep.check("engine opens the folder", False, res.stderr.strip()[-2000:])
        return
    out = json.loads(res.stdout)
    print(f"  (engine: {len(out)} items in {time.time() - t0:.1f}s)")
    answers, logits = Q.greedy(model, tok, questions, images, max_new=max_new, want_logits=True)
    pv = Q.preprocess(images)
    same_ids = all(o["expandedIds"] == tok.prompt_ids(q) for o, q in zip(out, questions))
    rep.check("engine: chat template + tokenizer + <|image_pad|> expansion", same_ids and
              out[0]["text"] == Q.render_prompt(questions[0]),
              f"expanded ids equal on {len(out)} prompts ({len(out[0]['expandedIds'])} ids for {questions[0]!r})")
    same_pos = all(torch.equal(torch.tensor(o["positions"]), model.rope_index(torch.tensor([o["expandedIds"]]))[:, 0])
                   for o in out)
    rep.check("engine: M-RoPE positions", same_pos, "3 streams equal")
    bits = all(np.array_equal(np.asarray(o["patches"], dtype=np.float32).reshape(pv[i].shape), pv[i])
               for i, o in enumerate(out))
    rep.check("engine: pixel values", bits and all(o["grid"] == [1, 16, 16] for o in out),
              "flattened patches bit-identical, grid (1, 16, 16)")
    worst = max(rel(o["lastLogits"], lg) for o, lg in zip(out, logits))
    rep.check("engine: last-position logits", worst < ENGINE_TOL, f"max relative error {worst:.2e}")
    same = sum(o["answerIds"] == a for o, a in zip(out, answers))
    rep.check("engine: greedy answers", same == len(out), f"{same}/{len(out)} identical ({max_new} tokens max)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--test", default=os.path.join(HERE, "data", "test"))
    ap.add_argument("--corrupt", choices=["mrope", "merge", "packed", "cache"])
    ap.add_argument("--keep", help="export the checkpoint here (kept) instead of a temporary folder")
    ap.add_argument("--skip-engine", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(1)
    L.Compute.bf16 = False
    t0 = time.time()

    meta, items, images = L.load_split(args.test)
    items, images = items[:40], images[:40]
    paths = [os.path.join(args.test, it["image"]) for it in items]
    tok = Q.Tokenizer(meta["vocabulary"])
    folder = args.keep or tempfile.mkdtemp(prefix="qwen2vl-check-")
    try:
        model = Q.Qwen2VL(Q.build_config(tok, text={"num_hidden_layers": 2}))
        Q.init_weights(model, SEED)
        Q.export(model, tok, folder)
        rep = Report()
        names = {n: s for n, s in R.tensor_shapes(R.parse_config(model.config), "modern").items()}
        ours = {n: list(t.shape) for n, t in model.state_dict().items()}
        rep.check("tensor names and shapes = transformers' (torch_qwen.py tensor_shapes, modern)", names == ours,
                  f"{len(ours)} tensors" + ("" if names == ours else f"; differ: {sorted(set(names) ^ set(ours))[:4]}"))
        # The oracle's own random weights, then reloaded through load_model: export -> load round trip.
        R.write_weights(folder, SEED, "F32", "modern")
        model, tok2 = Q.load_model(folder)
        assert tok2.tokens == tok.tokens
        if args.corrupt:
            print(f"corrupted on purpose: {args.corrupt}")
            corrupt(model, args.corrupt)
        questions = [it["question"] for it in items]
        answers = [it["answers"][0] for it in items]
        print(f"model: {model.config['text_config']['num_hidden_layers']} decoder layers, vocab {tok.vocab_size}, "
              f"{sum(p.numel() for p in model.parameters())} parameters; folder {folder}")

        print("1. float64 oracle (torch_qwen.py)")
        oracle_check(rep, model, tok, folder, images[0], questions[0])
        print("2. packed sequences")
        packed_check(rep, model, tok, images[:2], questions[:6], answers[:6], per_image=3)
        print("3. KV cache")
        by_length = {}  # prompts of different lengths, so the right padding matters
        for i, q in enumerate(questions):
            by_length.setdefault(len(tok.prompt_ids(q)), i)
        pick = sorted(by_length.values())[:4]
        cache_check(rep, model, tok, images[pick], [questions[i] for i in pick])
        if not args.skip_engine:
            print("4. engine")
            engine_check(rep, model, tok, folder, paths[:3], images[:3], questions[:3])
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"{'FAILED: ' + ', '.join(rep.failed) if rep.failed else 'all checks passed'} ({time.time() - t0:.0f}s)")
    sys.exit(1 if rep.failed else 0)


if __name__ == "__main__":
    main()
