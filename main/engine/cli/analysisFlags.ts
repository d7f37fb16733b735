/**
 * Command-line flags of the analyses, made from their settings' fields (analyses/configFields.ts): the
 * option table parseArgs reads, the usage lines, and flags → raw settings for the analysis's schema to
 * parse. A flag two analyses share (e.g. --max-new-tokens) sets the setting of both.
 */
import type { ConfigField } from '../../common/api/types.ts';
import { FusionError } from '../../common/errors.ts';
import type { Analysis } from '../analyses/analysis.ts';
import { ANALYSES } from '../analyses/registry.ts';
import { parseIntList, parseNumber } from './flags.ts';

export type AnalysisFlags = Readonly<Record<string, string | boolean | undefined>>;

/** parseArgs options for every analysis's flags (each flag once, with one type). */
export function analysisOptions(
  analyses: readonly Analysis[] = ANALYSES,
): Record<string, { type: 'string' | 'boolean' }> {
  const options: Record<string, { type: 'string' | 'boolean' }> = {};
  const owner = new Map<string, string>();
  for (const analysis of analyses) {
    for (const field of analysis.fields) {
      const type = field.type === 'boolean' ? 'boolean' : 'string';
      const known = options[field.flag];
      if (known && known.type !== type) {
        throw new Error(
          `--${field.flag} is a ${type} flag in ${analysis.kind} but a ${known.type} flag in ${owner.get(field.flag)}`,
        );
      }
      options[field.flag] = { type };
      owner.set(field.flag, analysis.kind);
    }
  }
  return options;
}

function valueOf(field: ConfigField, text: string): unknown {
  switch (field.type) {
    case 'number':
      return parseNumber(text, field.flag);
    case 'integer': {
      const values = parseIntList(text, field.flag);
      if (values.length !== 1) {
        throw new FusionError('BAD_ARGUMENT', `--${field.flag}: give one whole number, got "${text}"`);
      }
      return values[0];
    }
    case 'integers':
      return parseIntList(text, field.flag);
    case 'choices':
      return text.split(',').map((part) => part.trim());
    default:
      return text;
  }
}

/** The settings the flags give for `analysis` (absent flags: the schema's defaults), parsed. */
export function configFromFlags(analysis: Analysis, flags: AnalysisFlags) {
  const raw: Record<string, unknown> = {};
  for (const field of analysis.fields) {
    const value = flags[field.flag];
    if (value === undefined) continue;
    raw[field.name] = typeof value === 'boolean' ? value : valueOf(field, value);
  }
  return analysis.parseConfig(raw, 'BAD_ARGUMENT');
}

function flagUsage(field: ConfigField): string {
  if (field.type === 'boolean') return `[--${field.flag}]`;
  const shown =
    field.type === 'choice'
      ? (field.choices ?? []).join('|')
      : field.default !== undefined
        ? String(field.default)
        : field.type === 'integers'
          ? '1,3'
          : field.type === 'choices'
            ? (field.choices ?? []).join(',')
            : field.type.toUpperCase();
  return `[--${field.flag} ${shown}]`;
}

/** Usage lines: per analysis, its command, description and flags (wrapped). */
export function analysisUsage(analyses: readonly Analysis[] = ANALYSES): string {
  const lines: string[] = [];
  // Descriptions start in one column, past the longest command name.
  const nameWidth = Math.max(...analyses.map((a) => a.kind.length)) + 2;
  for (const analysis of analyses) {
    lines.push(`  fusionscope ${analysis.kind.padEnd(nameWidth)}${analysis.description}`);
    let line = '     ';
    for (const flag of analysis.fields.map(flagUsage)) {
      if (line.length + flag.length > 100) {
        lines.push(line.trimEnd());
        line = '     ';
      }
      line += `${flag} `;
    }
    lines.push(line.trimEnd());
  }
  return `${lines.join('\n')}\n`;
}
