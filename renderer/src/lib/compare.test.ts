import { describe, expect, it } from 'vitest';

import { planCompare } from './compare.ts';

describe('planCompare', () => {
  it('starts only what each model is missing, and nothing already running', () => {
    expect(
      planCompare([
        { modelId: 'a', sweepRunId: 3, evolveRunId: 4 },
        { modelId: 'b', sweepRunId: undefined, evolveRunId: 7 },
        { modelId: 'c', sweepRunId: undefined, evolveRunId: undefined, evolveRunning: true },
      ]),
    ).toEqual([
      { kind: 'sweep', modelId: 'b' },
      { kind: 'sweep', modelId: 'c' },
    ]);
    expect(planCompare([])).toEqual([]);
  });
});
