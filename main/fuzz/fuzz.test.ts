/**
 * The fuzz targets (targets/index.ts) with a budget small enough for every `npm test`: about 15 s for
 * all of them on 2 cores, each in its own watched worker. The seed is fixed so a failure reproduces:
 * the message gives the replay command, and FUZZ_SEED=<n> explores other seeds. `npm run fuzz` runs
 * the same properties at length (cli.ts).
 */
import { describe, expect, it } from 'vitest';

import { runIsolated } from './isolate.ts';
import { describeFailure } from './report.ts';
import { FUZZ_TARGETS } from './targets/index.ts';

const SEED = process.env.FUZZ_SEED === undefined ? 20_240_601 : Number(process.env.FUZZ_SEED);

/**
 * Cases per target, sized by what one case costs here (measured on the 2-core CI machine): datasets
 * and safetensors write files (~5 ms a case), the tokenizer builds a vocabulary (~2 ms), the
 * decoders and the API validation take well under a millisecond.
 */
const CASES: Readonly<Record<string, number>> = {
  safetensors: 400,
  png: 1500,
  jpeg: 1500,
  bmp: 1000,
  tokenizer: 600,
  datasets: 300,
  api: 1500,
};

describe(`fuzz targets (seed ${SEED})`, () => {
  for (const target of FUZZ_TARGETS) {
    it(`${target.name}: ${target.summary}`, async () => {
      const cases = CASES[target.name] ?? 200;
      const report = await runIsolated(target.name, { cases, seed: SEED, slowMs: 5_000, hangMs: 30_000 });
      if (report.failure !== undefined) expect.fail(describeFailure(report));
      expect(report.cases).toBe(cases);
    });
  }
});
