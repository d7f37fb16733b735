/**
 * `fusionscope demo`: the README's main job. On the embedded demo model and its test split it answers
 * a few questions and shows, per decoder layer, (a) how much of the answer position's image attention
 * falls on the question-relevant box and (b) how much the gold answer's probability drops when the
 * image tokens' hidden states are zeroed at that layer (the paper's §1 masking, on one sample).
 */
import { fileURLToPath } from 'node:url';

import { attentionMassInBoxes } from './analysis/imageTokens.ts';
import { openVqaDataset, type VqaItem } from './datasets/vqaDataset.ts';
import { probabilityOf } from './experiments/scoring.ts';
import { forward, prepareSample } from './inference/forward.ts';
import { generate } from './inference/generate.ts';
import type { LoadedModel } from './model/openModel.ts';

/** The LLaVA-1.5-architecture demo model: what the app and the one-model commands open by default. */
export const DEMO_MODEL_DIR = fileURLToPath(new URL('../../native-models/demo/model', import.meta.url));
/** The Qwen2-VL-architecture demo model, trained on the same data (native-models/demo-qwen2vl). */
export const DEMO_QWEN2VL_MODEL_DIR = fileURLToPath(
  new URL('../../native-models/demo-qwen2vl/model', import.meta.url),
);
/**
 * Every embedded demo model, one line each, in the order `fusionscope analyze` runs them when no
 * --model is given; with more than one it writes each model's report and their comparison.
 */
export const DEMO_MODEL_DIRS: readonly string[] = [DEMO_MODEL_DIR, DEMO_QWEN2VL_MODEL_DIR];
export const DEMO_DATASET_DIR = fileURLToPath(new URL('../../native-models/demo/data/test', import.meta.url));
/** Test-split images asked two or three questions each, about disjoint regions (question contrast). */
export const DEMO_MULTI_DATASET_DIR = fileURLToPath(
  new URL('../../native-models/demo/data/multi', import.meta.url),
);

/** One item per question family first, then in file order. */
export function pickDiverse(items: readonly VqaItem[], count: number): VqaItem[] {
  const byFamily = new Map<string, VqaItem>();
  for (const item of items) if (!byFamily.has(item.family)) byFamily.set(item.family, item);
  const picked = [...byFamily.values()].slice(0, count);
  for (const item of items) {
    if (picked.length >= count) break;
    if (!picked.includes(item)) picked.push(item);
  }
  return picked;
}

const bar = (value: number) => '▁▂▃▄▅▆▇█'[Math.max(0, Math.min(7, Math.round(value * 7)))];

export async function runDemo(
  model: LoadedModel,
  datasetDir: string,
  count: number,
  write: (line: string) => void,
): Promise<{ correct: number; total: number }> {
  const dataset = await openVqaDataset(datasetDir);
  const layers = model.spec.decoder.layers;
  write(
    `FusionScope demo: ${model.folder} on ${model.provider.provider}; dataset "${dataset.name}" (${dataset.items.length} items)`,
  );
  write(
    `Per layer 0..${layers - 1}: attention mass on the relevant box, and the gold answer's probability drop when the image is zeroed there.\n`,
  );
  let correct = 0;
  const items = pickDiverse(dataset.items, count);
  for (const item of items) {
    const sample = await prepareSample(model, {
      image: item.imagePath,
      prompt: { kind: 'question', text: item.question },
    });
    const answer = await generate(model, sample, { maxNewTokens: 4 });
    const ok = item.answers.includes(answer.text.toLowerCase());
    if (ok) correct++;
    write(
      `[${item.family}] ${item.question} → ${answer.text || '(empty)'} (gold: ${item.answers.join(' / ')}) ${ok ? '✓' : '✗'}`,
    );
    const base = await forward(model, sample);
    const goldToken = model.tokenizer.encode(item.answers[0], { addSpecialTokens: false })[0];
    const baseProbability = probabilityOf(base.lastLogits, goldToken);
    if (item.boxes.length > 0) {
      const { rects } = sample.imageLayout;
      const mass = base.imageAttention.map((a) => attentionMassInBoxes(a, rects, item.boxes));
      write(`   box attention  ${mass.map(bar).join('')}  ${mass.map((m) => m.toFixed(2)).join(' ')}`);
    }
    const drops: number[] = [];
    for (let layer = 0; layer < layers; layer++) {
      const masked = await forward(model, sample, {
        interventions: [{ mode: 'hidden', layers: [layer] }],
        attentionRows: [],
      });
      drops.push(baseProbability - probabilityOf(masked.lastLogits, goldToken));
    }
    const scale = Math.max(1e-9, ...drops.map(Math.abs));
    write(
      `   masking drop   ${drops.map((d) => bar(Math.max(0, d) / scale)).join('')}  ${drops.map((d) => d.toFixed(2)).join(' ')}  (p(gold) = ${baseProbability.toFixed(2)})`,
    );
  }
  write(`\n${correct}/${items.length} answered correctly.`);
  return { correct, total: items.length };
}
