import { describe, expect, it } from 'vitest';

import { mainJob } from './experimentCommands.ts';

const steps = (flags: Parameters<typeof mainJob>[0]) =>
  mainJob(flags).map((step) => (step.kind === 'sweep' ? `sweep:${String(step.flags.mode)}` : step.kind));

describe('the main job (analyze)', () => {
  it('sweeps in both masking modes, hidden last (the sweep contrast reads its layers off)', () => {
    expect(steps({})).toEqual(['sweep:knockout', 'sweep:hidden', 'evolve', 'contrast']);
  });

  it('sweeps in the one mode --mode names, and passes every other flag on', () => {
    expect(steps({ mode: 'knockout' })).toEqual(['sweep:knockout', 'evolve', 'contrast']);
    expect(mainJob({ limit: '5' }).every((step) => step.flags.limit === '5')).toBe(true);
  });
});
