/**
 * Reading dataset files: JSON documents are parsed at most once per `openDataset` call (detection and
 * the reader share the parse), JSON Lines are streamed line by line so a large file is never held
 * whole in memory. Files are opened without blocking and must be regular files (`datasetFile.ts`) and
 * UTF-8 (`utf8.ts`); parse errors give line and column, never the text (native-models/files/jsonText.ts).
 */
import type { Readable } from 'node:stream';

import { describeJsonError, parseJsonText } from '../../../native-models/files/jsonText.ts';
import { shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { openDatasetFile, readDatasetBytes, readError } from './datasetFile.ts';
import { isObject } from './fields.ts';
import { decodeUtf8, decodeUtf8Lenient, describeInvalidUtf8 } from './utf8.ts';

const SNIFF_BYTES = 64 * 1024;
/** A JSON Lines record is a few KiB; a longer "line" is skipped without being held whole. */
const MAX_LINE_BYTES = 16 * 1024 * 1024;

async function parseDocument(path: string): Promise<unknown> {
  const bytes = await readDatasetBytes(path);
  let decoded: ReturnType<typeof decodeUtf8>;
  try {
    decoded = decodeUtf8(bytes);
  } catch (error) {
    // V8 caps strings at ~512 MiB; such files need splitting (GQA's train_all questions ship split).
    throw new FusionError(
      'BAD_DATASET',
      `${shownPath(path)}: ${bytes.length} bytes is too large to parse as one JSON document (${(error as Error).message})`,
    );
  }
  if ('invalid' in decoded) {
    // One document has no items to skip around a bad byte: the whole file is refused.
    const { line, column } = decoded.invalid;
    throw new FusionError('BAD_DATASET', `${shownPath(path)}:${line}: ${describeInvalidUtf8(column)}`);
  }
  return parseJsonText(
    decoded.text,
    (where) => new FusionError('BAD_DATASET', `${shownPath(path)}: not valid JSON (${where})`),
  );
}

/** A `.json` file is either one JSON document or (POPE ships `.json` files this way) JSON Lines. */
export type Sniffed = { kind: 'lines'; first: unknown } | { kind: 'document' };

export class JsonFiles {
  private readonly documents = new Map<string, Promise<unknown>>();

  /** The parsed document; concurrent and repeated calls share one parse. */
  document(path: string): Promise<unknown> {
    let parsed = this.documents.get(path);
    if (parsed === undefined) {
      parsed = parseDocument(path);
      this.documents.set(path, parsed);
    }
    return parsed;
  }

  /**
   * Lines when the name ends in `.jsonl`, or when the first line is a whole JSON object and more
   * lines follow; otherwise a document. Reads at most 64 KiB, so a huge one-line JSON stays a
   * document without being read here.
   */
  async sniff(path: string): Promise<Sniffed> {
    const { handle } = await openDatasetFile(path);
    let head: string;
    try {
      const buffer = Buffer.alloc(SNIFF_BYTES);
      const { bytesRead } = await handle.read(buffer, 0, SNIFF_BYTES, 0);
      // Detection only (the head may end inside a character); the reader decodes strictly.
      head = decodeUtf8Lenient(buffer.subarray(0, bytesRead));
    } catch (error) {
      throw readError(path, error);
    } finally {
      await handle.close();
    }
    const lines = head.split('\n');
    const firstIndex = lines.findIndex((l) => l.trim() !== '');
    const first = firstIndex < 0 ? undefined : tryParse(lines[firstIndex]);
    if (path.toLowerCase().endsWith('.jsonl')) return { kind: 'lines', first };
    const more = lines.slice(firstIndex + 1).some((l) => l.trim() !== '');
    return isObject(first) && more ? { kind: 'lines', first } : { kind: 'document' };
  }
}

function tryParse(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** A line's bytes (a trailing CR dropped), or null for a line over MAX_LINE_BYTES. */
type ByteLine = { line: number; bytes: Buffer | null };

const withoutCr = (bytes: Buffer) => (bytes.at(-1) === 0x0d ? bytes.subarray(0, -1) : bytes);

/** Splits on LF only (as editors number lines), holding at most MAX_LINE_BYTES of one line. */
async function* byteLines(stream: Readable): AsyncGenerator<ByteLine> {
  let pending: Buffer[] = [];
  let pendingLength = 0;
  let tooLong = false;
  let line = 1;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (let end = chunk.indexOf(0x0a, start); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, end);
      const over = tooLong || pendingLength + piece.length > MAX_LINE_BYTES;
      yield { line, bytes: over ? null : withoutCr(Buffer.concat([...pending, piece])) };
      pending = [];
      pendingLength = 0;
      tooLong = false;
      line++;
      start = end + 1;
    }
    const rest = chunk.subarray(start);
    if (tooLong || rest.length === 0) continue;
    if (pendingLength + rest.length > MAX_LINE_BYTES) {
      tooLong = true;
      pending = [];
      pendingLength = 0;
    } else {
      pending.push(rest);
      pendingLength += rest.length;
    }
  }
  if (tooLong || pendingLength > 0) {
    yield { line, bytes: tooLong ? null : withoutCr(Buffer.concat(pending)) };
  }
}

export type JsonLine = { line: number; value: unknown; error?: undefined } | { line: number; error: string };

/** One line's record, or why it is not one (never quoting the line). */
function parseLine(line: number, bytes: Buffer | null): JsonLine | null {
  if (bytes === null) return { line, error: `longer than ${MAX_LINE_BYTES} bytes` };
  const decoded = decodeUtf8(bytes);
  if ('invalid' in decoded) return { line, error: describeInvalidUtf8(decoded.invalid.column) };
  if (decoded.text.trim() === '') return null;
  try {
    return { line, value: JSON.parse(decoded.text) };
  } catch {
    return { line, error: `not valid JSON (${describeJsonError(decoded.text)})` };
  }
}

/** Non-blank lines of a JSON Lines file with their 1-based line numbers, parsed one at a time. */
export async function* jsonLines(path: string): AsyncGenerator<JsonLine> {
  const { handle } = await openDatasetFile(path);
  const stream = handle.createReadStream();
  try {
    const lines = byteLines(stream);
    for (;;) {
      let next: IteratorResult<ByteLine>;
      try {
        next = await lines.next();
      } catch (error) {
        throw readError(path, error);
      }
      if (next.done) return;
      const parsed = parseLine(next.value.line, next.value.bytes);
      if (parsed !== null) yield parsed;
    }
  } finally {
    stream.destroy();
  }
}
