import { describe, expect, it } from 'vitest';

import type { ConfigField } from '../../../main/common/api/index.ts';
import { draftFor, isShown, settingsFrom } from './settings.ts';

const FIELDS: ConfigField[] = [
  {
    name: 'mode',
    flag: 'mode',
    label: 'Mode',
    help: '',
    type: 'choice',
    choices: ['hidden', 'knockout'],
    default: 'hidden',
  },
  {
    name: 'scale',
    flag: 'scale',
    label: 'Scale',
    help: '',
    type: 'number',
    min: 0,
    max: 10,
    default: 0,
    onlyWhen: { field: 'mode', equals: 'hidden' },
  },
  { name: 'window', flag: 'window', label: 'Window', help: '', type: 'integer', min: 1, default: 1 },
  {
    name: 'layers',
    flag: 'layers',
    label: 'Layers',
    help: '',
    type: 'integers',
    max: 31,
    whenOmitted: 'from the sweep',
  },
  {
    name: 'methods',
    flag: 'methods',
    label: 'Methods',
    help: '',
    type: 'choices',
    choices: ['mask', 'crop'],
    default: ['mask', 'crop'],
  },
  { name: 'perHead', flag: 'per-head', label: 'Per head', help: '', type: 'boolean', default: false },
];

describe('settings forms', () => {
  it('start at the schema defaults, with a view’s own values on top', () => {
    expect(draftFor(FIELDS, { perHead: true })).toEqual({
      mode: 'hidden',
      scale: '0',
      window: '1',
      layers: '',
      methods: ['mask', 'crop'],
      perHead: true,
    });
  });

  it('send shown fields, leave empty ones to the schema, and parse numbers and layer lists', () => {
    const draft = { ...draftFor(FIELDS), layers: '2, 4-6', window: '3' };
    expect(settingsFrom(FIELDS, draft)).toEqual({
      config: {
        mode: 'hidden',
        scale: 0,
        window: 3,
        layers: [2, 4, 5, 6],
        methods: ['mask', 'crop'],
        perHead: false,
      },
    });
    const knockout = { ...draft, mode: 'knockout', scale: '5' };
    expect(isShown(FIELDS[1], knockout)).toBe(false);
    expect(settingsFrom(FIELDS, knockout)).not.toHaveProperty('config.scale');
    expect(settingsFrom(FIELDS, { ...draft, layers: '' })).not.toHaveProperty('config.layers');
  });

  it('name the field and the problem', () => {
    const draft = draftFor(FIELDS);
    expect(settingsFrom(FIELDS, { ...draft, scale: '11' })).toEqual({ error: 'Scale: at most 10, got 11' });
    expect(settingsFrom(FIELDS, { ...draft, window: '1.5' })).toEqual({
      error: 'Window: "1.5" is not a whole number',
    });
    expect(settingsFrom(FIELDS, { ...draft, layers: '2, 40' })).toEqual({
      error: 'Layers: at most 31, got 40',
    });
    expect(settingsFrom(FIELDS, { ...draft, layers: 'two' })).toEqual({
      error: expect.stringMatching(/^Layers: "two"/),
    });
    expect(settingsFrom(FIELDS, { ...draft, methods: [] })).toEqual({
      error: 'Methods: choose at least one',
    });
  });
});
