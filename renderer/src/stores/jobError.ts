import type { JobView } from '../../../main/common/api/index.ts';

/**
 * What `finished(jobId)` rejects with when the job's run failed. The jobs store has already shown the
 * failure as a notice, so `reportError` does not show it twice.
 */
export class JobFailedError extends Error {
  constructor(readonly job: JobView) {
    super(job.error ?? `${job.kind} job ${job.jobId} failed`);
    this.name = 'JobFailedError';
  }
}
