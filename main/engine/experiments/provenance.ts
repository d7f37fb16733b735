/**
 * A run's provenance (common/runs.ts `Provenance`): which FusionScope, ONNX Runtime, provider,
 * precision, weights, items, settings and prompt produced it. Computed once when a run is created.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import packageJson from '../../../package.json' with { type: 'json' };
import type { Provenance } from '../../common/runs.ts';
import type { DatasetItem } from '../datasets/types.ts';
import { fileDecoder } from '../image/load.ts';
import { promptText } from '../inference/prompt.ts';
import { hubRevision, modelContentHash } from '../model/contentHash.ts';
import type { LoadedModel } from '../model/openModel.ts';
import { ONNXRUNTIME_VERSION } from '../runtime/session.ts';
import { canonicalJson } from '../store/canonicalJson.ts';

const REPOSITORY = fileURLToPath(new URL('../../../', import.meta.url));

let checkout: { commit: string | null; dirty: boolean } | undefined;

/** The commit of the FusionScope checkout this code runs from; none in a packaged app. */
function fusionscopeCheckout(): { commit: string | null; dirty: boolean } {
  if (checkout) return checkout;
  checkout = { commit: null, dirty: false };
  if (existsSync(join(REPOSITORY, '.git'))) {
    const git = (args: string[]) =>
      execFileSync('git', args, {
        cwd: REPOSITORY,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      }).trim();
    try {
      checkout = {
        commit: git(['rev-parse', 'HEAD']),
        dirty: git(['status', '--porcelain', '--untracked-files=no']) !== '',
      };
    } catch {
      // No git on the PATH, or not a repository after all: no commit to record.
    }
  }
  return checkout;
}

/**
 * sha256 over the items in order: id, question, answers, boxes, family, metric and the image's file
 * name and size (image bytes are not read: a dataset of 200k images would take minutes).
 */
export async function datasetHash(items: readonly DatasetItem[]): Promise<string> {
  const hash = createHash('sha256');
  for (const item of items) {
    const size = await stat(item.imagePath).then(
      (s) => s.size,
      () => null,
    );
    hash.update(
      canonicalJson({
        id: item.id,
        question: item.question,
        answers: item.answers,
        annotatorAnswers: item.annotatorAnswers ?? null,
        boxes: item.boxes,
        family: item.family,
        metric: item.metric,
        image: { name: basename(item.imagePath), size },
      }),
    );
    hash.update('\n');
  }
  return hash.digest('hex');
}

/** Items per image decoder (image/load.ts `fileDecoder`), each distinct file sniffed once. */
export async function imageDecoders(items: readonly DatasetItem[]): Promise<Record<string, number>> {
  const byFile = new Map<string, Promise<string>>();
  const counts: Record<string, number> = {};
  for (const item of items) {
    let decoder = byFile.get(item.imagePath);
    if (decoder === undefined) {
      decoder = fileDecoder(item.imagePath).then((d) => d ?? 'none');
      byFile.set(item.imagePath, decoder);
    }
    const name = await decoder;
    counts[name] = (counts[name] ?? 0) + 1;
  }
  return counts;
}

/** The prompt every item is asked in, with `{question}` where the item's question goes. */
export function promptTemplate(model: LoadedModel, promptSuffix: string | undefined): string {
  const question = promptSuffix ? `{question}\n${promptSuffix}` : '{question}';
  return promptText(model, { kind: 'question', text: question });
}

export async function runProvenance(
  model: LoadedModel,
  items: readonly DatasetItem[],
  settings: unknown,
): Promise<Provenance> {
  const { commit, dirty } = fusionscopeCheckout();
  const suffix = (settings as { promptSuffix?: unknown } | null)?.promptSuffix;
  return {
    fusionscopeVersion: packageJson.version,
    commit,
    commitDirty: dirty,
    onnxruntimeVersion: ONNXRUNTIME_VERSION,
    executionProvider: model.provider.provider,
    precision: model.precision,
    modelHash: await modelContentHash(model.folder, dirname(model.cache.dir)),
    modelRevision: hubRevision(model.folder),
    datasetHash: await datasetHash(items),
    imageDecoders: await imageDecoders(items),
    settings,
    promptTemplate: promptTemplate(model, typeof suffix === 'string' ? suffix : undefined),
    createdAt: Date.now(),
  };
}
