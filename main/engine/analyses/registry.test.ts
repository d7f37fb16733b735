/**
 * The registry's contract, for every analysis in it: a well-formed unique name, settings whose defaults
 * alone are valid, form fields and CLI flags that agree with the schema, and one identity whether the
 * settings come from flags or from the app's form.
 */
import { describe, expect, it } from 'vitest';

import { RUN_KIND_PATTERN } from '../../common/runs.ts';
import { analysisOptions, analysisUsage, configFromFlags } from '../cli/analysisFlags.ts';
import { commandOptions } from '../cli.ts';
import { canonicalJson } from '../store/canonicalJson.ts';
import { ANALYSES, ANALYSIS_KINDS, analysisOf } from './registry.ts';

describe.each(ANALYSES.map((analysis) => [analysis.kind, analysis] as const))('%s', (kind, analysis) => {
  it('has a well-formed name, a title and a description', () => {
    expect(kind).toMatch(RUN_KIND_PATTERN);
    expect(analysis.title.length).toBeGreaterThan(0);
    expect(analysis.description.length).toBeGreaterThan(0);
    expect(analysisOf(kind)).toBe(analysis);
  });

  it("takes its schema's defaults alone, and its fields state exactly those defaults", () => {
    const defaults = analysis.parseConfig({}) as Record<string, unknown>;
    for (const field of analysis.fields) {
      if ('default' in field) expect(defaults[field.name], field.name).toEqual(field.default);
      else expect(defaults, field.name).not.toHaveProperty(field.name);
      expect(field.label, field.name).not.toBe('');
      expect(field.help, field.name).not.toBe('');
    }
    expect(Object.keys(defaults).every((name) => analysis.fields.some((f) => f.name === name))).toBe(true);
  });

  it('gets the same settings from no flags as from an empty form, and from its fields’ defaults', () => {
    const fromApp = analysis.parseConfig({});
    expect(canonicalJson(configFromFlags(analysis, {}))).toBe(canonicalJson(fromApp));
    const written = Object.fromEntries(
      analysis.fields.filter((f) => 'default' in f).map((f) => [f.name, f.default]),
    );
    expect(canonicalJson(analysis.parseConfig(written))).toBe(canonicalJson(fromApp));
  });

  it('offers every setting as a CLI flag of the right type', () => {
    const options = commandOptions();
    for (const field of analysis.fields) {
      expect(options[field.flag], field.flag).toEqual({
        type: field.type === 'boolean' ? 'boolean' : 'string',
      });
    }
    expect(analysisUsage()).toContain(`fusionscope ${kind}`);
  });

  it('is listed in the usage with its description two or more spaces after its name', () => {
    const line = analysisUsage()
      .split('\n')
      .find((l) => l.startsWith(`  fusionscope ${kind} `));
    expect(line).toMatch(new RegExp(`^ {2}fusionscope ${kind} {2,}\\S`));
  });
});

describe('settings from flags', () => {
  it('parses each kind of flag and fills the rest from the schema', () => {
    const sweep = analysisOf('sweep');
    expect(configFromFlags(sweep, { mode: 'knockout', window: '2', tokens: '3,1' })).toEqual({
      mode: 'knockout',
      scale: 0,
      fill: 'zero',
      donors: 4,
      queries: 'all',
      window: 2,
      tokens: [3, 1],
      maxNewTokens: 8,
    });
    const contrast = analysisOf('contrast');
    expect(
      configFromFlags(contrast, { methods: 'crop,mask', 'review-layer': '6', rho: '0.3' }),
    ).toMatchObject({
      methods: ['crop', 'mask'],
      reviewLayer: 6,
      rho: 0.3,
    });
    expect(
      configFromFlags(analysisOf('evolve'), { 'per-head': true, 'attention-rows': 'question' }),
    ).toMatchObject({
      perHead: true,
      rows: 'question',
    });
  });

  it('refuses bad values naming the flag and what is wrong', () => {
    const sweep = analysisOf('sweep');
    const refusal = (flags: Record<string, string>) => {
      try {
        configFromFlags(sweep, flags);
      } catch (error) {
        return error;
      }
      throw new Error('accepted');
    };
    expect(refusal({ window: '0' })).toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringMatching(/^sweep settings: window \(--window\): .*>=1/),
    });
    expect(refusal({ mode: 'zero' })).toMatchObject({ message: expect.stringMatching(/mode \(--mode\)/) });
    expect(refusal({ window: '1,2' })).toMatchObject({
      message: expect.stringMatching(/--window: give one whole number/),
    });
    expect(refusal({ scale: 'x' })).toMatchObject({
      message: expect.stringMatching(/--scale: "x" is not a number/),
    });
  });

  it('knows only the registry’s analyses, and every flag has one type across them', () => {
    expect(() => analysisOf('nope')).toThrow(
      /unknown analysis "nope" \(expected sweep, evolve, contrast, eval, logit-lens, image-lens, attention-share, head-knockout, question-contrast\)/,
    );
    expect(ANALYSIS_KINDS).toEqual(ANALYSES.map((a) => a.kind));
    expect(new Set(ANALYSIS_KINDS).size).toBe(ANALYSIS_KINDS.length);
    expect(() => analysisOptions()).not.toThrow();
  });
});
