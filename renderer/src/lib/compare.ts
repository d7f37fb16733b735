/**
 * The compare view's plan: for each chosen model, what it still needs on the dataset — a sweep (for
 * its fusion curve) and an evolve run holding the chosen sample (for its attention maps). Runs that
 * already exist are reused, so "Run compare" only computes what is missing.
 */

export interface CompareNeeds {
  readonly modelId: string;
  /** The newest finished sweep of the model on the dataset, if any. */
  readonly sweepRunId: number | undefined;
  /** A finished evolve run of the model holding the sample, if any. */
  readonly evolveRunId: number | undefined;
  /** A job for this model and kind is already queued or running. */
  readonly sweepRunning?: boolean;
  readonly evolveRunning?: boolean;
}

export interface PlannedRun {
  readonly kind: 'sweep' | 'evolve';
  readonly modelId: string;
}

export function planCompare(needs: readonly CompareNeeds[]): PlannedRun[] {
  return needs.flatMap((n) => [
    ...(n.sweepRunId === undefined && !n.sweepRunning
      ? [{ kind: 'sweep' as const, modelId: n.modelId }]
      : []),
    ...(n.evolveRunId === undefined && !n.evolveRunning
      ? [{ kind: 'evolve' as const, modelId: n.modelId }]
      : []),
  ]);
}
