/**
 * Test helpers for the backend: a session over a real backend (engine worker thread, SQLite workspace)
 * that records every event and resolves calls to their values, so a test reads as the renderer's calls.
 */
import type { ApiEvent, ApiMethod, ApiParamsIn, ApiResults, JobView } from '../common/api/index.ts';
import { createBackend } from './index.ts';
import type { Backend } from './types.ts';

export interface Session {
  readonly backend: Backend;
  readonly events: ApiEvent[];
  ok<M extends ApiMethod>(method: M, params: ApiParamsIn<M>): Promise<ApiResults[M]>;
  fails(method: unknown, params: unknown): Promise<{ code: string; message: string }>;
  /** Resolves with the job once an event says it finished (past events included). */
  finished(jobId: number): Promise<JobView>;
  /** Resolves with the first event (past or future) `test` accepts. */
  event<E extends ApiEvent>(test: (event: ApiEvent) => event is E): Promise<E>;
}

export async function session(
  workspace: string,
  options: { preloadDemo?: boolean; engineWorker?: URL; demoModelFolder?: string } = {},
): Promise<Session> {
  const backend = await createBackend({ workspace, mode: 'browser', provider: 'cpu', ...options });
  const events: ApiEvent[] = [];
  const waiters = new Set<(event: ApiEvent) => void>();
  backend.onEvent((event) => {
    events.push(event);
    for (const waiter of waiters) waiter(event);
  });
  const event = <E extends ApiEvent>(test: (event: ApiEvent) => event is E) =>
    new Promise<E>((resolve) => {
      const seen = events.find(test);
      if (seen) return resolve(seen);
      const waiter = (e: ApiEvent) => {
        if (test(e)) {
          waiters.delete(waiter);
          resolve(e);
        }
      };
      waiters.add(waiter);
    });
  return {
    backend,
    events,
    async ok(method, params) {
      const reply = await backend.call(method, params);
      if (!reply.ok) throw new Error(`${method} failed: ${reply.error.code}: ${reply.error.message}`);
      return reply.value as never;
    },
    async fails(method, params) {
      const reply = await backend.call(method, params);
      if (reply.ok) throw new Error(`${String(method)} should have failed`);
      return reply.error;
    },
    finished: (jobId) =>
      event(
        (e): e is Extract<ApiEvent, { type: 'job' }> =>
          e.type === 'job' && e.job.jobId === jobId && e.job.state === 'finished',
      ).then((e) => e.job),
    event,
  };
}
