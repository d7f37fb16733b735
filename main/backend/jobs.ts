/**
 * The job queue: startRun/resumeRun add a job, the worker runs one at a time, and every state change is
 * an event. A job is the app's handle on a computation; its run (known once the worker has created or
 * claimed the run row) is what stays in the workspace.
 *
 *   queued ──pump──▶ running ──worker reply──▶ finished (outcome done | cancelled | failed)
 *      └──cancelJob──────────────────────────▶ finished (cancelled, no run)
 */
import type { ApiEvent, JobView, WorkerView } from '../common/api/index.ts';
import { FusionError } from '../common/errors.ts';
import type { RunKind, RunProgress, RunRow } from '../common/runs.ts';
import type { QueueAddress } from '../engine/queue/address.ts';
import type { Workspace } from '../engine/store/workspace.ts';
import type { AppState, RunSelection } from './appState.ts';
import type { EngineClient } from './engineClient.ts';
import type { JobExperiment, JobTarget } from './workerProtocol.ts';

/** Finished jobs listed besides the live ones (older ones are still runs in the workspace). */
const FINISHED_KEPT = 100;
/** How long close() waits for a cancelled job to record its state before stopping the worker. */
const CLOSE_GRACE_MS = 10_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface NewJob {
  readonly kind: RunKind;
  readonly modelId: string;
  readonly datasetId: string;
  readonly total: number;
  readonly target: JobTarget;
  readonly experiment: JobExperiment;
  readonly resume?: number;
  /** Saved with the run once its id is known, so resumeRun selects the same items. */
  readonly selection: RunSelection;
  /** Hand the items to this queue's workers instead of computing them in the engine worker. */
  readonly queue?: QueueAddress;
}

interface Job {
  readonly view: Mutable<JobView>;
  readonly spec: NewJob;
  /** Resolves when the job has finished (any outcome). */
  finished: Promise<void>;
}

export class JobQueue {
  private nextId = 1;
  private readonly jobs = new Map<number, Job>();
  private readonly queue: Job[] = [];
  private current: Job | undefined;

  constructor(
    private readonly engine: EngineClient,
    private readonly workspace: Workspace,
    private readonly state: AppState,
    private readonly emit: (event: ApiEvent) => void,
  ) {}

  add(spec: NewJob): JobView {
    const view: Mutable<JobView> = {
      jobId: this.nextId++,
      kind: spec.kind,
      modelId: spec.modelId,
      datasetId: spec.datasetId,
      state: 'queued',
      runId: spec.resume ?? null,
      done: 0,
      total: spec.total,
      etaSeconds: null,
      outcome: null,
      error: null,
      queue: spec.queue?.shown ?? null,
      workers: null,
      unserved: null,
    };
    const job: Job = { view, spec, finished: Promise.resolve() };
    this.jobs.set(view.jobId, job);
    this.queue.push(job);
    this.changed(job);
    this.pump();
    return { ...view };
  }

  list(): JobView[] {
    return [...this.jobs.values()].map((job) => ({ ...job.view }));
  }

  get(jobId: number): JobView {
    return { ...this.find(jobId).view };
  }

  /** Queued: dropped. Running: aborted (the run stays resumable). Finished: returned as is. */
  cancel(jobId: number): JobView {
    const job = this.find(jobId);
    const queued = this.queue.indexOf(job);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.finish(job, 'cancelled', null);
    } else if (job === this.current) {
      this.engine.cancel(jobId);
    }
    return { ...job.view };
  }

  /** A job queued or running on this run (deleting it then would pull the run from under the job). */
  usesRun(runId: number): boolean {
    return this.live().some((job) => job.view.runId === runId);
  }

  usesModel(modelId: string): boolean {
    return this.live().some((job) => job.view.modelId === modelId);
  }

  /** Runs of `kind` queued or running on the model (a contrast job queued after a sweep reads its layers). */
  pending(modelId: string, kind: string): boolean {
    return this.live().some((job) => job.view.kind === kind && job.view.modelId === modelId);
  }

  progress(jobId: number, progress: RunProgress): void {
    const job = this.jobs.get(jobId);
    if (!job || job.view.state !== 'running') return;
    const firstNews = job.view.runId !== progress.runId;
    Object.assign(job.view, {
      runId: progress.runId,
      done: progress.done,
      total: progress.total,
      etaSeconds: progress.etaSeconds,
    });
    if (firstNews) {
      try {
        this.state.saveRunSelection(progress.runId, job.spec.selection);
      } catch {
        // Without it a resume falls back to the first `total` items; the job itself goes on.
      }
      this.changed(job);
    }
    this.emit({ type: 'progress', jobId, progress });
  }

  /** A queued job's live workers changed (the coordinator reports only changes): news for the app. */
  workers(jobId: number, workers: readonly WorkerView[], unserved: string | null): void {
    const job = this.jobs.get(jobId);
    if (!job || job.view.state !== 'running') return;
    Object.assign(job.view, { workers, unserved });
    this.changed(job);
  }

  /** Cancels everything and waits (a little) for the running job to record that it stopped. */
  async close(): Promise<void> {
    for (const job of this.queue.splice(0)) this.finish(job, 'cancelled', null);
    const running = this.current;
    if (!running) return;
    this.engine.cancel(running.view.jobId);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      running.finished,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private live(): Job[] {
    return [...this.queue, ...(this.current ? [this.current] : [])];
  }

  private find(jobId: number): Job {
    const job = this.jobs.get(jobId);
    if (!job) throw new FusionError('NOT_FOUND', `no job ${jobId}`);
    return job;
  }

  private pump(): void {
    if (this.current) return;
    const job = this.queue.shift();
    if (!job) return;
    this.current = job;
    job.view.state = 'running';
    this.changed(job);
    const { target, experiment, resume, queue } = job.spec;
    job.finished = this.engine
      .request({ type: 'runJob', jobId: job.view.jobId, target, experiment, resume, queue })
      .then(
        (outcome) => {
          job.view.runId = outcome.runId;
          return { outcome: outcome.status, error: null };
        },
        (error: unknown) => {
          const message = error instanceof Error ? error.message : String(error);
          this.releaseRun(job.view.runId, message);
          return { outcome: 'failed' as const, error: message };
        },
      )
      .then(({ outcome, error }) => {
        // No longer current before anyone hears it finished (a listener may delete its run at once).
        this.current = undefined;
        this.finish(job, outcome, error);
        this.pump();
      });
  }

  /**
   * A run still 'running' after its job failed was left by a worker that died mid-sample: this process
   * owns it and is alive, so no one else would ever mark it. 'failed' keeps it resumable.
   */
  private releaseRun(runId: number | null, message: string): void {
    if (runId === null) return;
    try {
      const run: RunRow | undefined = this.workspace.findRun(runId);
      if (run?.status === 'running') this.workspace.markRun(runId, 'failed', message);
    } catch {
      // The store is failing too; the job's error says what happened first.
    }
  }

  private finish(job: Job, outcome: NonNullable<JobView['outcome']>, error: string | null): void {
    // Nothing waits for a worker any more; the workers last seen stay (who computed the run).
    Object.assign(job.view, { state: 'finished', outcome, error, etaSeconds: null, unserved: null });
    if (job.view.runId !== null) {
      try {
        const run = this.workspace.findRun(job.view.runId);
        if (run) Object.assign(job.view, { done: run.done, total: run.total });
      } catch {
        // The workspace is closed (a job that outlived close()'s grace period): counts as last reported.
      }
    }
    this.changed(job);
    this.trim();
  }

  private changed(job: Job): void {
    this.emit({ type: 'job', job: { ...job.view } });
  }

  private trim(): void {
    const finished = [...this.jobs.values()].filter((job) => job.view.state === 'finished');
    for (const job of finished.slice(0, Math.max(0, finished.length - FINISHED_KEPT))) {
      this.jobs.delete(job.view.jobId);
    }
  }
}
