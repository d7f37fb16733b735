/**
 * A new file written front to back: created exclusively (an export never overwrites), small writes
 * gathered into one system call (a zip's headers are a few dozen bytes each), every byte written however
 * many calls the OS takes, and the count kept (zip offsets are positions in the file).
 */
import { closeSync, openSync, writeSync } from 'node:fs';

/** Writes shorter than this are copied and gathered; the gathered bytes go out at this size. */
const GATHER = 1 << 20;

export class OutputFile {
  private readonly fd: number;
  private written = 0;
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private closed = false;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'wx');
  }

  /** Bytes written so far: the offset the next write starts at. */
  get offset(): number {
    return this.written;
  }

  write(bytes: Uint8Array): void {
    this.written += bytes.byteLength;
    if (bytes.byteLength >= GATHER) {
      this.flush();
      this.writeAll(bytes);
      return;
    }
    // A copy: the caller may reuse its buffer once this returns.
    this.gathered.push(Buffer.from(bytes));
    this.gatheredBytes += bytes.byteLength;
    if (this.gatheredBytes >= GATHER) this.flush();
  }

  /** Writes what is gathered, then closes; a failed write still closes the handle. */
  close(): void {
    if (this.closed) return;
    try {
      this.flush();
    } finally {
      this.abort();
    }
  }

  /** Closes without writing what is gathered (the file is being abandoned). */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.gatheredBytes === 0) return;
    const bytes = Buffer.concat(this.gathered, this.gatheredBytes);
    this.gathered = [];
    this.gatheredBytes = 0;
    this.writeAll(bytes);
  }

  private writeAll(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.byteLength) done += writeSync(this.fd, bytes, done, bytes.byteLength - done);
  }
}
