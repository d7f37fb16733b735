/**
 * Provenance as the report shows it: a footer under each figure, and report.json's `provenance`, which
 * merges the reported runs' records (a field the runs agree on is given once; otherwise per analysis).
 */
import packageJson from '../../../package.json' with { type: 'json' };
import type { Provenance, RunRow } from '../../common/runs.ts';

const short = (hash: string) => hash.slice(0, 12);

function settingsText(settings: unknown): string {
  if (settings === null || typeof settings !== 'object') return '';
  return Object.entries(settings)
    .map(([key, value]) => `${key} ${Array.isArray(value) ? value.join(',') : String(value)}`)
    .join(', ');
}

/** Two lines: what computed the run, and with which settings. */
export function footerLines(run: RunRow): string[] {
  const p = run.provenance;
  if (!p) {
    return [
      `FusionScope ${run.kind} run ${run.id}, recorded before runs kept their provenance; settings: ${settingsText(run.config)}`,
    ];
  }
  const commit = p.commit ? ` (${p.commit.slice(0, 10)}${p.commitDirty ? ', modified' : ''})` : '';
  const revision = p.modelRevision ? ` @ ${p.modelRevision.slice(0, 10)}` : '';
  return [
    `FusionScope ${p.fusionscopeVersion}${commit} · ONNX Runtime ${p.onnxruntimeVersion} · ${p.executionProvider} · ` +
      `weights ${p.precision} · model ${short(p.modelHash)}${revision} · items ${short(p.datasetHash)} (${run.total})`,
    `${run.kind} run ${run.id}: ${settingsText(p.settings)}`,
  ];
}

const SHARED: readonly (keyof Provenance)[] = [
  'fusionscopeVersion',
  'commit',
  'commitDirty',
  'onnxruntimeVersion',
  'executionProvider',
  'precision',
  'modelHash',
  'modelRevision',
  'datasetHash',
  'imageDecoders',
  'promptTemplate',
];

/**
 * The report's provenance: each field of the runs' records once when they agree, else by analysis;
 * `settings` and `runs` always by analysis; and what wrote the report.
 */
export function reportProvenance(runs: ReadonlyMap<string, RunRow>): Record<string, unknown> {
  const recorded = [...runs].filter(([, run]) => run.provenance !== null) as [
    string,
    RunRow & { provenance: Provenance },
  ][];
  const merged: Record<string, unknown> = {};
  for (const field of SHARED) {
    const values = recorded.map(([kind, run]) => [kind, run.provenance[field]] as const);
    const distinct = new Set(values.map(([, value]) => JSON.stringify(value)));
    merged[field] = distinct.size <= 1 ? (values[0]?.[1] ?? null) : Object.fromEntries(values);
  }
  return {
    ...merged,
    settings: Object.fromEntries(
      [...runs].map(([kind, run]) => [kind, run.provenance?.settings ?? run.config]),
    ),
    runs: Object.fromEntries([...runs].map(([kind, run]) => [kind, run.id])),
    unrecorded: [...runs].filter(([, run]) => run.provenance === null).map(([kind]) => kind),
    reportWrittenBy: { fusionscopeVersion: packageJson.version },
  };
}
