import { describe, expect, it } from 'vitest';

import { knockoutWindow, mainJob } from './experimentCommands.ts';

const steps = (flags: Parameters<typeof mainJob>[0], layers = 8) =>
  mainJob(flags, layers).map((step) =>
    step.kind === 'sweep'
      ? `sweep:${String(step.flags.mode ?? 'default')}${step.flags.window ? `/w${String(step.flags.window)}` : ''}`
      : step.kind,
  );

describe('the main job (analyze)', () => {
  it('sweeps in both masking modes with a windowed knockout, hidden last (contrast reads its layers off it)', () => {
    expect(steps({})).toEqual(['sweep:knockout', 'sweep:knockout/w2', 'sweep:hidden', 'evolve', 'contrast']);
    expect(steps({}, 32)).toContain('sweep:knockout/w8');
    expect(steps({}, 2)).toEqual(['sweep:knockout', 'sweep:hidden', 'evolve', 'contrast']);
  });

  it('sweeps only as --mode or --window asks, and passes every other flag on', () => {
    expect(steps({ mode: 'knockout' })).toEqual(['sweep:knockout', 'evolve', 'contrast']);
    expect(steps({ window: '3' })).toEqual(['sweep:default/w3', 'evolve', 'contrast']);
    expect(mainJob({ limit: '5' }, 8).every((step) => step.flags.limit === '5')).toBe(true);
  });

  it('knocks out a quarter of the depth at a time, at least 2 layers', () => {
    expect([2, 4, 8, 28, 32].map(knockoutWindow)).toEqual([2, 2, 2, 7, 8]);
  });
});
