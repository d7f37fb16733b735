/**
 * A Parquet file read in a worker thread under a watchdog (parquetWorker.mjs): hyparquet decodes
 * whatever counts a file states, so a damaged or hostile file can hang it, exhaust memory or crash it
 * with an unawaited rejection (all three seen while fuzzing). Each request has a deadline that grows
 * with the file's size and the worker a heap cap; a worker that misses either, or dies, is terminated
 * and the file refused with BAD_DATASET naming it. One file, one worker, one request at a time.
 */
import { Worker } from 'node:worker_threads';

import type { FileMetaData } from 'hyparquet';

import { printable, shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';

type Reply =
  | { readonly kind: 'metadata'; readonly metadata: FileMetaData }
  | { readonly kind: 'rows'; readonly rows: Record<string, unknown>[] }
  | { readonly kind: 'error'; readonly message: string };

const MIB = 1024 * 1024;

export class ParquetReader {
  private constructor(
    private readonly file: string,
    private readonly worker: Worker,
    private readonly deadlineMs: number,
    readonly metadata: FileMetaData,
  ) {}

  /** Starts the worker on the file's bytes (moved to it) and reads the footer. */
  static async open(
    file: string,
    bytes: Uint8Array,
    // Decoding time only (counted once the worker runs): generous for real files, which hyparquet
    // reads at well over 50 MiB/s here, and short for a stuck one.
    deadlineMs = 1_000 + (1_000 * bytes.length) / MIB,
  ): Promise<ParquetReader> {
    const worker = new Worker(new URL('./parquetWorker.mjs', import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: Math.max(512, Math.ceil((8 * bytes.length) / MIB)) },
    });
    // A rejection hyparquet leaves unawaited can kill the worker after its answer was sent: with no
    // listener, that 'error' would be thrown in this thread. In-flight requests listen for their own.
    worker.on('error', () => undefined);
    const buffer = new Uint8Array(bytes).buffer;
    try {
      await new Promise<void>((resolve, reject) => {
        worker.once('online', resolve);
        worker.once('error', (error: Error) =>
          reject(
            new FusionError(
              'BAD_DATASET',
              `${shownPath(file)}: the Parquet reader did not start (${error.message})`,
            ),
          ),
        );
      });
      const reply = await request(file, worker, deadlineMs, { kind: 'open', buffer }, [buffer]);
      if (reply.kind !== 'metadata') throw new Error('the worker answered out of turn');
      return new ParquetReader(file, worker, deadlineMs, reply.metadata);
    } catch (error) {
      await worker.terminate();
      throw error;
    }
  }

  /** Rows [rowStart, rowEnd) as objects; binary columns stay Uint8Array, INT64 are bigint. */
  async rows(rowStart: number, rowEnd: number): Promise<Record<string, unknown>[]> {
    const reply = await request(this.file, this.worker, this.deadlineMs, { kind: 'rows', rowStart, rowEnd });
    if (reply.kind !== 'rows') throw new Error('the worker answered out of turn');
    return reply.rows;
  }

  close(): Promise<number> {
    return this.worker.terminate();
  }
}

function request(
  file: string,
  worker: Worker,
  deadlineMs: number,
  message: unknown,
  transfer: ArrayBuffer[] = [],
): Promise<Reply> {
  const refuse = (why: string) =>
    new FusionError('BAD_DATASET', `${shownPath(file)}: not a readable Parquet file, or cut short (${why})`);
  return new Promise<Reply>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (reply: Reply) => {
      done();
      // hyparquet's messages name what is wrong (a codec, a page type), not cell contents; escaped anyway.
      if (reply.kind === 'error') reject(refuse(printable(reply.message, 200)));
      else resolve(reply);
    };
    const onError = (error: Error) => {
      done();
      void worker.terminate();
      reject(refuse(printable(error.message, 200)));
    };
    const onExit = (code: number) => {
      done();
      reject(refuse(`its reader stopped (exit code ${code})`));
    };
    const timer = setTimeout(() => {
      done();
      void worker.terminate();
      reject(
        refuse(`decoding took over ${+(deadlineMs / 1000).toFixed(1)} s; the file is damaged or hostile`),
      );
    }, deadlineMs);
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(message, transfer);
  });
}
