import { describe, expect, it } from 'vitest';

import { analyzeCommand, knockoutWindow, mainJob, reportCommand } from './experimentCommands.ts';

const steps = (flags: Parameters<typeof mainJob>[0], layers = 8) =>
  mainJob(flags, layers).map((step) =>
    step.kind === 'sweep'
      ? `sweep:${String(step.flags.mode ?? 'default')}${step.flags.window ? `/w${String(step.flags.window)}` : ''}${step.flags.fill ? `/${String(step.flags.fill)}` : ''}`
      : step.kind,
  );

describe('the main job (analyze)', () => {
  it('sweeps in both masking modes with a windowed knockout and resampling, zeroing last (contrast reads its layers off it)', () => {
    expect(steps({})).toEqual([
      'sweep:knockout',
      'sweep:knockout/w2',
      'sweep:hidden/resample',
      'sweep:hidden',
      'evolve',
      'contrast',
      'question-contrast',
    ]);
    expect(steps({}, 32)).toContain('sweep:knockout/w8');
    expect(steps({}, 2)).toEqual([
      'sweep:knockout',
      'sweep:hidden/resample',
      'sweep:hidden',
      'evolve',
      'contrast',
      'question-contrast',
    ]);
  });

  it('sweeps only as --mode or --window asks, and passes every other flag on', () => {
    expect(steps({ mode: 'knockout' })).toEqual([
      'sweep:knockout',
      'evolve',
      'contrast',
      'question-contrast',
    ]);
    expect(steps({ window: '3' })).toEqual(['sweep:default/w3', 'evolve', 'contrast', 'question-contrast']);
    // A resample or mean fill applies to hidden mode only: that sweep alone, not the knockouts.
    expect(steps({ fill: 'resample' })).toEqual([
      'sweep:default/resample',
      'evolve',
      'contrast',
      'question-contrast',
    ]);
    expect(mainJob({ limit: '5' }, 8).every((step) => step.flags.limit === '5')).toBe(true);
  });

  it('contrasts questions on the demo’s several-questions-per-image split unless --dataset names one', () => {
    const datasetOf = (flags: Parameters<typeof mainJob>[0]) =>
      mainJob(flags, 8).find((step) => step.kind === 'question-contrast')?.flags.dataset;
    expect(datasetOf({})).toMatch(/native-models[/\\]demo[/\\]data[/\\]multi$/);
    expect(datasetOf({ dataset: '/data/vqav2' })).toBe('/data/vqav2');
    expect(mainJob({}, 8).find((step) => step.kind === 'evolve')?.flags.dataset).toBeUndefined();
  });

  it('refuses --resume ID, which would name one run for all of its runs, before opening anything', async () => {
    const workspace = '/nonexistent/fusionscope-never-created';
    for (const model of ['native-models/demo/model', 'native-models/demo/model,/elsewhere/other']) {
      await expect(analyzeCommand({ resume: '3', model, workspace })).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
        message: expect.stringMatching(
          /--resume 3 names one run, but the main job is several runs per model/,
        ),
      });
    }
    // report shares the refusal, so its message names no one command
    await expect(
      reportCommand({ resume: '3', model: 'native-models/demo/model,/elsewhere/other', workspace }),
    ).rejects.toMatchObject({ code: 'BAD_ARGUMENT', message: expect.not.stringMatching(/analyze/) });
  });

  it('knocks out a quarter of the depth at a time, at least 2 layers', () => {
    expect([2, 4, 8, 28, 32].map(knockoutWindow)).toEqual([2, 2, 2, 7, 8]);
  });
});
