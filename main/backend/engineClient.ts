/**
 * The main thread's end of the engine worker: typed requests with promised replies, cancels, events,
 * and crash handling. A worker that dies (native crash, out of memory, a bug) fails every pending
 * request with one clear error and is started afresh by the next request; runs already recorded stay in
 * SQLite.
 */
import { Worker } from 'node:worker_threads';

import { FusionError } from '../common/errors.ts';
import type {
  FromWorker,
  RequestOf,
  RequestType,
  ToWorker,
  WorkerEvent,
  WorkerInit,
  WorkerResults,
} from './workerProtocol.ts';

/** Where the worker starts from source: a bootstrap that registers tsx, then loads engineWorker.ts. */
export const DEFAULT_ENGINE_WORKER = new URL('./engineWorker.mjs', import.meta.url);

export interface EngineHooks {
  onEvent(event: WorkerEvent): void;
  /** The worker died while not being stopped; `error` is what pending requests were failed with. */
  onCrash(error: FusionError): void;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export class EngineClient {
  private worker: Worker | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  /** How many workers have been started (a restart after a crash increments it). */
  starts = 0;

  constructor(
    private readonly url: URL,
    private readonly init: WorkerInit,
    private readonly hooks: EngineHooks,
  ) {}

  request<T extends RequestType>(request: RequestOf<T>): Promise<WorkerResults[T]> {
    const worker = this.ensureWorker();
    const id = this.nextId++;
    return new Promise<WorkerResults[T]>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.send(worker, { kind: 'request', id, request });
    });
  }

  cancel(jobId: number): void {
    if (this.worker) this.send(this.worker, { kind: 'cancel', jobId });
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    this.worker = undefined;
    this.failPending(new FusionError('CANCELLED', 'the backend is closing'));
    await worker?.terminate();
  }

  private send(worker: Worker, message: ToWorker): void {
    worker.postMessage(message);
  }

  private ensureWorker(): Worker {
    if (this.closed) throw new FusionError('INTERNAL', 'the backend is closed');
    if (this.worker) return this.worker;
    const worker = new Worker(this.url, { workerData: this.init });
    this.starts += 1;
    worker.on('message', (message: FromWorker) => this.receive(message));
    worker.on('error', (error) => this.stopped(worker, `uncaught ${error.name}: ${error.message}`));
    worker.on('exit', (code) => this.stopped(worker, `exit code ${code}`));
    this.worker = worker;
    return worker;
  }

  private receive(message: FromWorker): void {
    if (message.kind === 'event') {
      this.hooks.onEvent(message.event);
      return;
    }
    const waiting = this.pending.get(message.id);
    if (!waiting) return;
    this.pending.delete(message.id);
    const { reply } = message;
    if (reply.ok) waiting.resolve(reply.value);
    else waiting.reject(new FusionError(reply.error.code as FusionError['code'], reply.error.message));
  }

  private stopped(worker: Worker, why: string): void {
    if (this.worker !== worker) return; // already handled ('error' is followed by 'exit'), or closed
    this.worker = undefined;
    const error = new FusionError(
      'INTERNAL',
      `the engine worker stopped unexpectedly (${why}); it restarts on the next request`,
    );
    this.failPending(error);
    if (!this.closed) this.hooks.onCrash(error);
  }

  private failPending(error: FusionError): void {
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.reject(error);
  }
}
