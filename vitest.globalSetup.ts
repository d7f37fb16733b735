/**
 * Every test process builds its model caches into one temporary folder of this run (tests that
 * examine the cache itself pass their own), never into the user's cache.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'fusionscope-test-models-'));
  process.env.FUSIONSCOPE_MODEL_CACHE = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
