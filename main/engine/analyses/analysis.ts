/**
 * The contract every analysis module fulfils (sweep.ts, evolve.ts, contrast.ts, eval.ts; the registry
 * lists them). An analysis is its settings schema (zod, defaults included: the one place they are
 * written), what it computes for one dataset item, how a run's samples become a summary, the summary
 * as text, and its part of the report. Everything else (the CLI's commands and flags, the API, the app's
 * forms, the run store, queued workers) is generic over this contract.
 */
import { z } from 'zod';

import type { ConfigField } from '../../common/api/types.ts';
import type { LabelParams } from '../../common/analysis.ts';
import { FusionError, type FusionErrorCode } from '../../common/errors.ts';
import type { RunRow, SampleOutput } from '../../common/runs.ts';
import type { DatasetItem } from '../datasets/types.ts';
import type { LoadedModel } from '../model/openModel.ts';
import type { ReportContext } from '../report/reportContext.ts';
import type { Workspace } from '../store/workspace.ts';
import { configFields } from './configFields.ts';
import { checkHiddenRequest, hiddenRequestOf, hiddenStatesFor, storeHiddenSettings } from './storeHidden.ts';

/** The model facts a config is checked against before any item runs. */
export interface ExperimentBounds {
  readonly layers: number;
  /** Attention heads per decoder layer. */
  readonly heads: number;
  /** null: the count varies per image, so tokens are checked against each sample's span instead. */
  readonly imageTokensPerImage: number | null;
  /** The residual stream's width, when known (sizes stored hidden states before a run). */
  readonly hiddenSize?: number;
}

/** What an analysis may read to fill the settings a caller left out (contrast: layers off a sweep). */
export interface ResolveContext {
  readonly workspace: Workspace;
  readonly model: Pick<LoadedModel, 'folder' | 'spec'>;
}

/**
 * What a sample may read beyond its own item: the dataset's items, in file order (a sweep's resample
 * ablation takes another item's image from them).
 */
export interface SampleContext {
  readonly items: readonly DatasetItem[];
}

/** How a summary is read, chosen by the reader (no new run needed): the API's runSummary options. */
export interface ReadOptions {
  readonly metric?: 'score' | 'gold_prob';
  readonly labels?: LabelParams;
}

export interface AnalysisDefinition<Config, Result, Summary> {
  /** The name runs are stored under and the CLI command (lowercase, RUN_KIND_PATTERN). */
  readonly kind: string;
  /** A few words for menus and headings. */
  readonly title: string;
  /** One line for `--help` and the app. */
  readonly description: string;
  /**
   * The settings: a strict zod object whose fields carry their defaults and, in `.meta()`, a `label`,
   * a `description`, optionally a `flag` (default: the name in kebab case), `whenOmitted` (for fields
   * with no default) and `onlyWhen`.
   */
  readonly config: z.ZodType<Config>;
  /** Another analysis whose newest finished run of the same model fills settings left out. */
  readonly readsFrom?: { readonly kind: string; readonly when: (config: Config) => boolean };
  /** Fills what the caller left out; what it returns is the run's identity. */
  readonly resolve?: (config: Config, context: ResolveContext) => Config;
  /** Refuses settings that would fail on every item (layers outside the model...). */
  readonly check?: (config: Config, bounds: ExperimentBounds) => void;
  readonly perSample: (
    model: LoadedModel,
    item: DatasetItem,
    config: Config,
    signal: AbortSignal,
    context: SampleContext,
  ) => Promise<SampleOutput<Result>>;
  /**
   * The other items of the dataset `perSample` reads for `item` (a sweep's donor images), so a queued
   * run sends them with it: given only the item and these, `perSample` must compute the same sample.
   * Default: none.
   */
  readonly companions?: (item: DatasetItem, config: Config, items: readonly DatasetItem[]) => DatasetItem[];
  readonly summarize: (workspace: Workspace, run: RunRow, options: ReadOptions) => Summary;
  /** The summary as lines of text (the CLI prints them; the app shows them for any analysis). */
  readonly describe: (summary: Summary, run: RunRow) => readonly string[];
  /** Adds figures and tables to the report; returns this analysis's section of report.json. */
  readonly report?: (report: ReportContext, run: RunRow, summary: Summary) => Promise<object>;
}

declare const parsedBrand: unique symbol;
/** Settings that went through their analysis's schema: the only kind the engine computes with. */
export type ParsedConfig = { readonly [parsedBrand]: true };

/** An analysis as the registry holds it: its settings' type erased behind `ParsedConfig`. */
export interface Analysis {
  readonly kind: string;
  readonly title: string;
  readonly description: string;
  readonly fields: readonly ConfigField[];
  /** Parses raw settings (defaults filled); refuses with `code`, naming each bad setting. */
  parseConfig(raw: unknown, code?: FusionErrorCode): ParsedConfig;
  /** The kind whose newest run fills settings `config` leaves out; null when none is needed. */
  readsFrom(config: ParsedConfig): string | null;
  resolve(config: ParsedConfig, context: ResolveContext): ParsedConfig;
  check(config: ParsedConfig, bounds: ExperimentBounds): void;
  perSample(
    model: LoadedModel,
    item: DatasetItem,
    config: ParsedConfig,
    signal: AbortSignal,
    /** Default: a dataset of this one item. */
    context?: SampleContext,
  ): Promise<SampleOutput<unknown>>;
  /** The other items `perSample` reads for `item`; `[item, ...these]` is all the context it needs. */
  companions(item: DatasetItem, config: ParsedConfig, items: readonly DatasetItem[]): DatasetItem[];
  summarize(workspace: Workspace, run: RunRow, options?: ReadOptions): unknown;
  describe(summary: unknown, run: RunRow): readonly string[];
  report?(report: ReportContext, run: RunRow, summary: unknown): Promise<object>;
}

const MAX_ISSUES = 5;

function describeIssues(kind: string, error: z.ZodError, fields: readonly ConfigField[]): string {
  const flagOf = new Map(fields.map((f) => [f.name, f.flag]));
  const lines = error.issues.slice(0, MAX_ISSUES).map((issue) => {
    const [head, ...rest] = issue.path.map(String);
    const where =
      head === undefined
        ? 'settings'
        : `${head}${flagOf.has(head) ? ` (--${flagOf.get(head)})` : ''}${rest.length ? `.${rest.join('.')}` : ''}`;
    return `${where}: ${issue.message}`.slice(0, 300);
  });
  const more = error.issues.length > MAX_ISSUES ? `; …${error.issues.length - MAX_ISSUES} more` : '';
  return `${kind} settings: ${lines.join('; ')}${more}`;
}

/** Erases a definition's settings type for the registry; every config it takes was parsed by it. */
export function defineAnalysis<Config, Result, Summary>(
  definition: AnalysisDefinition<Config, Result, Summary>,
): Analysis {
  const fields = configFields(definition.config);
  const typed = (config: ParsedConfig) => config as unknown as Config;
  const parsed = (config: Config) => config as unknown as ParsedConfig;
  return {
    kind: definition.kind,
    title: definition.title,
    description: definition.description,
    fields,
    parseConfig(raw, code = 'BAD_ARGUMENT') {
      const result = definition.config.safeParse(raw ?? {});
      if (!result.success) {
        throw new FusionError(code, describeIssues(definition.kind, result.error, fields));
      }
      return parsed(result.data);
    },
    readsFrom: (config) => (definition.readsFrom?.when(typed(config)) ? definition.readsFrom.kind : null),
    resolve: (config, context) =>
      definition.resolve ? parsed(definition.resolve(typed(config), context)) : config,
    check: (config, bounds) => {
      definition.check?.(typed(config), bounds);
      const hidden = hiddenRequestOf(config);
      if (hidden) checkHiddenRequest(hidden, bounds);
    },
    async perSample(model, item, config, signal, context = { items: [item] }) {
      const output = await definition.perSample(model, item, typed(config), signal, context);
      // Any analysis may keep hidden states (storeHidden.ts): added here, after its own work.
      const hidden = await hiddenStatesFor(model, item, config, signal);
      return hidden.length ? { ...output, arrays: [...(output.arrays ?? []), ...hidden] } : output;
    },
    companions: (item, config, items) => definition.companions?.(item, typed(config), items) ?? [],
    summarize: (workspace, run, options = {}) => definition.summarize(workspace, run, options),
    describe: (summary, run) => definition.describe(summary as Summary, run),
    ...(definition.report
      ? {
          report: (report: ReportContext, run: RunRow, summary: unknown) =>
            (definition.report as NonNullable<typeof definition.report>)(report, run, summary as Summary),
        }
      : {}),
  };
}

/**
 * The settings every analysis that asks a question shares (every analysis spreads them, so the
 * hidden-state setting, which any analysis may take, is among them).
 */
export const promptSettings = {
  promptSuffix: z.string().max(1000).optional().meta({
    label: 'Prompt suffix',
    description: 'Appended to every question, e.g. "Answer the question using a single word or phrase."',
    whenOmitted: 'the question alone',
  }),
  ...storeHiddenSettings,
};

/** Tokens generated for an answer. */
export const maxNewTokensSetting = z
  .number()
  .int()
  .min(1)
  .max(256)
  .default(8)
  .meta({ label: 'Answer tokens', description: 'Tokens generated for each answer' });
