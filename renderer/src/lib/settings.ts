/**
 * An analysis's settings form, from the fields the backend derives from its schema (listAnalyses): the
 * draft a form edits (text as typed), which fields show, and the draft as settings for startRun. The
 * schema stays the judge (the backend parses what is sent); this only catches typos before a round trip.
 */
import type { ConfigField } from '../../../main/common/api/index.ts';
import { parseLayerList } from './analysisRuns.ts';

/** What the inputs hold: text for numbers and lists, booleans for checkboxes, arrays for choice sets. */
export type SettingsDraft = Record<string, string | boolean | string[]>;

function asDraft(field: ConfigField, value: unknown): string | boolean | string[] {
  switch (field.type) {
    case 'boolean':
      return value === true;
    case 'choices':
      return Array.isArray(value) ? value.map(String) : [];
    case 'integers':
      return Array.isArray(value) ? value.join(', ') : '';
    default:
      return value === undefined || value === null ? '' : String(value);
  }
}

/** A draft at the schema's defaults, with `overrides` (a view's own starting values) on top. */
export function draftFor(
  fields: readonly ConfigField[],
  overrides: Record<string, unknown> = {},
): SettingsDraft {
  return Object.fromEntries(
    fields.map((field) => [
      field.name,
      asDraft(field, field.name in overrides ? overrides[field.name] : field.default),
    ]),
  );
}

/** A field shows unless it applies only while another setting has a value it does not have. */
export function isShown(field: ConfigField, draft: SettingsDraft): boolean {
  return !field.onlyWhen || draft[field.onlyWhen.field] === field.onlyWhen.equals;
}

function inRange(field: ConfigField, n: number): string | null {
  if (field.min !== undefined && n < field.min) return `${field.label}: at least ${field.min}, got ${n}`;
  if (field.max !== undefined && n > field.max) return `${field.label}: at most ${field.max}, got ${n}`;
  return null;
}

/**
 * The settings to send: shown fields only, empty text left out (the schema's default, or what leaving
 * it out means); or the first problem found, naming the field.
 */
export function settingsFrom(
  fields: readonly ConfigField[],
  draft: SettingsDraft,
): { config: Record<string, unknown> } | { error: string } {
  const config: Record<string, unknown> = {};
  for (const field of fields) {
    if (!isShown(field, draft)) continue;
    const value = draft[field.name];
    if (typeof value === 'boolean' || Array.isArray(value)) {
      if (Array.isArray(value) && value.length === 0) return { error: `${field.label}: choose at least one` };
      config[field.name] = value;
      continue;
    }
    const text = (value ?? '').trim();
    if (text === '') continue;
    if (field.type === 'number' || field.type === 'integer') {
      const n = Number(text);
      if (!Number.isFinite(n) || (field.type === 'integer' && !Number.isInteger(n))) {
        return {
          error: `${field.label}: "${text}" is not a ${field.type === 'integer' ? 'whole ' : ''}number`,
        };
      }
      const problem = inRange(field, n);
      if (problem) return { error: problem };
      config[field.name] = n;
    } else if (field.type === 'integers') {
      const parsed = parseLayerList(text);
      if ('error' in parsed) return { error: `${field.label}: ${parsed.error}` };
      for (const n of parsed.layers) {
        const problem = inRange(field, n);
        if (problem) return { error: problem };
      }
      config[field.name] = parsed.layers;
    } else {
      config[field.name] = text;
    }
  }
  return { config };
}
