/**
 * Background jobs (one per run being computed), kept live from the backend's `job` and `progress`
 * events. `finished(jobId)` lets a view await a run's end; a slow poll while jobs are active covers
 * events missed while the event stream reconnects.
 */
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';

import type { ApiParamsIn, JobView } from '../../../main/common/api/index.ts';
import { useTransport } from '../api/index.ts';
import { useAppStore } from './app.ts';
import { JobFailedError } from './jobError.ts';

export interface JobProgress {
  readonly done: number;
  readonly total: number;
  readonly failed: number;
  /** 0..1; 0 while the total is unknown. */
  readonly fraction: number;
  readonly etaSeconds: number | null;
}

interface Waiter {
  resolve(job: JobView): void;
  reject(error: Error): void;
}

const POLL_MS = 4000;

export { JobFailedError };

export const useJobsStore = defineStore('jobs', () => {
  const transport = useTransport();
  const app = useAppStore();
  const jobs = ref<JobView[]>([]);
  const failedCounts = ref<Record<number, number>>({});
  const active = computed(() => jobs.value.filter((job) => job.state !== 'finished'));
  const waiters = new Map<number, Waiter[]>();
  /** Jobs seen queued or running in this window: the ones whose end is news (see `recent`). */
  const watched = ref(new Set<number>());
  /** Finished jobs this window saw running, newest first. */
  const recent = computed(() =>
    jobs.value.filter((job) => job.state === 'finished' && watched.value.has(job.jobId)).reverse(),
  );

  function settle(job: JobView): void {
    if (job.state !== 'finished') return;
    const pending = waiters.get(job.jobId) ?? [];
    waiters.delete(job.jobId);
    for (const waiter of pending) {
      if (job.outcome === 'failed') waiter.reject(new JobFailedError(job));
      else waiter.resolve(job);
    }
  }

  function upsert(job: JobView, live = true): void {
    if (live && !watched.value.has(job.jobId)) watched.value = new Set([...watched.value, job.jobId]);
    const index = jobs.value.findIndex((j) => j.jobId === job.jobId);
    // A late event must not bring a finished job back to life.
    if (index >= 0 && jobs.value[index].state === 'finished' && job.state !== 'finished') return;
    const wasFinished = index >= 0 && jobs.value[index].state === 'finished';
    if (index >= 0) jobs.value.splice(index, 1, job);
    else jobs.value.push(job);
    // A run that fails is news wherever the user is; its error must not wait in the Runs table.
    if (live && !wasFinished && job.state === 'finished' && job.outcome === 'failed') {
      const run = job.runId === null ? '' : ` (run ${job.runId})`;
      app.notify('error', `The ${job.kind} job${run} failed: ${job.error ?? 'no reason given'}`);
    }
    settle(job);
  }

  transport.onEvent((event) => {
    if (event.type === 'job') upsert(event.job);
    else if (event.type === 'progress') {
      const job = jobs.value.find((j) => j.jobId === event.jobId);
      const { done, total, etaSeconds, runId, failed } = event.progress;
      failedCounts.value = { ...failedCounts.value, [event.jobId]: failed };
      if (job && job.state !== 'finished') {
        upsert({ ...job, state: 'running', runId, done, total, etaSeconds });
      }
    }
  });

  async function refresh(): Promise<void> {
    // A job that had finished before this window opened is history (Runs view), not news.
    for (const job of await transport.call('listJobs', {})) upsert(job, job.state !== 'finished');
  }

  let timer: ReturnType<typeof setInterval> | undefined;
  watch(
    () => active.value.length > 0,
    (busy) => {
      if (busy && !timer) timer = setInterval(() => void refresh().catch(() => undefined), POLL_MS);
      if (!busy && timer) {
        clearInterval(timer);
        timer = undefined;
      }
    },
  );

  async function start(params: ApiParamsIn<'startRun'>): Promise<JobView> {
    const job = await transport.call('startRun', params);
    upsert(job);
    return jobs.value.find((j) => j.jobId === job.jobId) ?? job;
  }

  async function cancel(jobId: number): Promise<void> {
    upsert(await transport.call('cancelJob', { jobId }));
  }

  /** Resolves with the finished job (outcome 'done' or 'cancelled'); rejects when it failed. */
  function finished(jobId: number): Promise<JobView> {
    const job = jobs.value.find((j) => j.jobId === jobId);
    if (job?.state === 'finished') {
      return job.outcome === 'failed' ? Promise.reject(new JobFailedError(job)) : Promise.resolve(job);
    }
    return new Promise((resolve, reject) => {
      waiters.set(jobId, [...(waiters.get(jobId) ?? []), { resolve, reject }]);
    });
  }

  function progressOf(jobId: number): JobProgress | null {
    const job = jobs.value.find((j) => j.jobId === jobId);
    if (!job) return null;
    const fraction = job.total > 0 ? Math.min(1, job.done / job.total) : 0;
    const failed = failedCounts.value[jobId] ?? 0;
    return { done: job.done, total: job.total, failed, fraction, etaSeconds: job.etaSeconds };
  }

  /** The job computing a run, if one is live. */
  function forRun(runId: number): JobView | undefined {
    return jobs.value.find((j) => j.runId === runId && j.state !== 'finished');
  }

  return { jobs, active, recent, refresh, start, cancel, finished, progressOf, forRun, upsert };
});
