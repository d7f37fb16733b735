/**
 * Test helpers for the runner: a fake computation whose output depends only on the item id (so a resumed
 * run must equal an uninterrupted one bit for bit), and polling with a deadline instead of blind sleeps.
 * Shared by runner.test.ts and the child process runner.child.testing.ts.
 */
import type { LayerMetricValue, SampleOutput } from '../../common/runs.ts';
import type { RunSpec } from './runner.ts';

export const FAKE_LAYERS = 4;
export const FAKE_GRID = [3, 3] as const;

export interface FakeResult {
  readonly id: string;
  readonly answer: string;
  readonly score: number;
}

export function fakeItems(count: number): Array<{ id: string }> {
  return Array.from({ length: count }, (_, i) => ({ id: `item-${String(i).padStart(3, '0')}` }));
}

/** FNV-1a, then mulberry32: a reproducible stream of floats per item id. */
function randomFor(id: string): () => number {
  let seed = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) seed = Math.imul(seed ^ id.charCodeAt(i), 0x01000193);
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function fakeOutput(id: string): SampleOutput<FakeResult> {
  const random = randomFor(id);
  const cells = FAKE_GRID[0] * FAKE_GRID[1];
  const attention = new Float32Array(FAKE_LAYERS * cells);
  for (let i = 0; i < attention.length; i++) attention[i] = random() / cells;
  const metrics: LayerMetricValue[] = [];
  for (let layer = 0; layer < FAKE_LAYERS; layer++) {
    metrics.push({ layer, name: 'drop', value: random() - 0.5 });
    metrics.push({ layer, name: 'hellinger', value: random() });
  }
  return {
    result: { id, answer: random() < 0.5 ? 'yes' : 'no', score: random() },
    metrics,
    arrays: [{ name: 'attention', data: attention, shape: [FAKE_LAYERS, ...FAKE_GRID] }],
  };
}

/** Resolves after `ms`, or rejects with the abort reason as soon as `signal` aborts. */
export function workFor(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function fakeSpec(
  count: number,
  perSample: RunSpec<FakeResult>['perSample'] = async (item) => fakeOutput(item.id),
  config: unknown = { mode: 'hidden', scale: 0, window: 1 },
): RunSpec<FakeResult> {
  return {
    kind: 'sweep',
    model: { folder: '/models/fake-llava', fingerprint: 'fake-fingerprint', info: { layers: FAKE_LAYERS } },
    dataset: { path: '/data/fake.jsonl', format: 'fusionscope-vqa', name: 'fake', items: fakeItems(count) },
    config,
    perSample,
  };
}

/** Polls `probe` until it returns a value other than undefined; fails with `what` after the deadline. */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined,
  { deadlineMs = 60_000, intervalMs = 10 } = {},
): Promise<T> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
