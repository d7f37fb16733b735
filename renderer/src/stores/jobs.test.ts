import { describe, expect, it } from 'vitest';

import type { JobView } from '../../../main/common/api/index.ts';
import { useAppStore } from './app.ts';
import { JobFailedError } from './jobError.ts';
import { useJobsStore } from './jobs.ts';
import { fakeBackend } from './testing.ts';

function job(over: Partial<JobView>): JobView {
  return {
    jobId: 1,
    kind: 'sweep',
    modelId: '/m',
    datasetId: '/d',
    state: 'running',
    runId: 7,
    done: 0,
    total: 10,
    etaSeconds: null,
    outcome: null,
    error: null,
    queue: null,
    workers: null,
    unserved: null,
    ...over,
  };
}

function setup(calls: Record<string, (params: unknown) => unknown> = {}) {
  const backend = fakeBackend(calls);
  const [jobs, notices] = backend.use(() => [useJobsStore(), useAppStore()] as const);
  return { jobs, notices, emit: backend.emit };
}

describe('jobs store', () => {
  it('follows progress events and resolves finished() when the job ends', async () => {
    const { jobs, emit } = setup({ startRun: () => job({ runId: null }) });
    const started = await jobs.start({
      kind: 'sweep',
      modelId: '/m',
      datasetId: '/d',
      config: { mode: 'knockout' },
    });
    const done = jobs.finished(started.jobId);
    emit({
      type: 'progress',
      jobId: 1,
      progress: { runId: 7, done: 4, total: 10, failed: 1, etaSeconds: 3, itemId: 'a' },
    });
    expect(jobs.progressOf(1)).toEqual({ done: 4, total: 10, failed: 1, fraction: 0.4, etaSeconds: 3 });
    expect(jobs.active).toHaveLength(1);
    emit({ type: 'job', job: job({ state: 'finished', done: 10, outcome: 'done' }) });
    await expect(done).resolves.toMatchObject({ outcome: 'done' });
    expect(jobs.active).toHaveLength(0);
    expect(jobs.recent.map((j) => j.jobId)).toEqual([1]);
  });

  it('rejects finished() for a failed job and shows the failure once', async () => {
    const { jobs, notices, emit } = setup({ startRun: () => job({}) });
    await jobs.start({ kind: 'sweep', modelId: '/m', datasetId: '/d', config: { mode: 'knockout' } });
    const done = jobs.finished(1);
    emit({ type: 'job', job: job({ state: 'finished', outcome: 'failed', error: 'disk full' }) });
    await expect(done).rejects.toBeInstanceOf(JobFailedError);
    notices.reportError(await done.catch((error: unknown) => error));
    expect(notices.notices.map((n) => n.text)).toEqual(['The sweep job (run 7) failed: disk full']);
  });

  it('keeps a finished job finished when a stale event arrives late', () => {
    const { jobs, emit } = setup();
    emit({ type: 'job', job: job({ state: 'finished', outcome: 'cancelled' }) });
    emit({ type: 'job', job: job({ state: 'running' }) });
    expect(jobs.jobs[0].state).toBe('finished');
  });

  it('keeps a queued job’s workers and why it waits across progress events', () => {
    const { jobs, emit } = setup();
    const waiting =
      'no worker is live on this queue; start one with: fusionscope worker --queue URL --model model';
    emit({ type: 'job', job: job({ queue: 'redis://q:6379', workers: [], unserved: waiting }) });
    emit({
      type: 'progress',
      jobId: 1,
      progress: { runId: 7, done: 1, total: 10, failed: 0, etaSeconds: 9, itemId: 'a' },
    });
    expect(jobs.jobs[0]).toMatchObject({ done: 1, queue: 'redis://q:6379', workers: [], unserved: waiting });
  });

  it('treats jobs that had finished before the window opened as history', async () => {
    const { jobs } = setup({ listJobs: () => [job({ state: 'finished', outcome: 'done' })] });
    await jobs.refresh();
    expect(jobs.jobs).toHaveLength(1);
    expect(jobs.recent).toHaveLength(0);
  });
});
