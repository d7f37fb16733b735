import { describe, expect, it } from 'vitest';

import { DEMO_MODEL_DIRS } from '../demo.ts';
import { COMPARE_FOLDER, modelSlugs } from './modelSlugs.ts';

const folder = (path: string) => ({ folder: path, hub: null });
const hub = (repoId: string, commit = 'a'.repeat(40)) => ({
  folder: `/cache/models--${repoId.replace('/', '--')}/snapshots/${commit}`,
  hub: { repoId },
});

describe('modelSlugs', () => {
  it("names each model's folder after the model: its folder, or a hub snapshot's repo", () => {
    expect(modelSlugs([folder('/m/LLaVA 1.5 (7B)'), hub('Qwen/Qwen2-VL-2B-Instruct')])).toEqual([
      'llava-1.5-7b',
      'qwen2-vl-2b-instruct',
    ]);
  });

  it('puts the parent folder (a hub model: its organisation) before names that collide', () => {
    expect(modelSlugs([folder('/demo/llava/model'), folder('/demo/qwen/model'), folder('/x/other')])).toEqual(
      ['llava-model', 'qwen-model', 'other'],
    );
    expect(modelSlugs([hub('a/llava'), hub('b/llava')])).toEqual(['a-llava', 'b-llava']);
  });

  it('numbers what still collides, and never takes the comparison’s folder', () => {
    expect(modelSlugs([folder('/a/model'), folder('/b/a/model'), folder('/c/compare')])).toEqual([
      'a-model',
      'a-model-2',
      'compare-2',
    ]);
    expect(modelSlugs([folder('/x/compare'), folder('/y/z')])).not.toContain(COMPARE_FOLDER);
    expect(modelSlugs([folder('/x/...'), folder('/y/--')])).toEqual(['x-model', 'y-model']);
  });

  it('gives every embedded demo model a folder of its own', () => {
    const slugs = modelSlugs(DEMO_MODEL_DIRS.map(folder));
    expect(new Set(slugs).size).toBe(DEMO_MODEL_DIRS.length);
  });
});
