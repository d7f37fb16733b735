/**
 * Dataset files are UTF-8. Invalid bytes are found and reported by line and byte column instead of
 * being decoded to U+FFFD, which would silently change a question (and what the model is asked).
 */

/** Where invalid UTF-8 starts: 1-based line, and 1-based byte column within that line. */
export interface Utf8Position {
  readonly line: number;
  readonly column: number;
}

/** `fatal`: invalid bytes throw instead of becoming U+FFFD; a leading BOM is dropped. */
const strict = new TextDecoder('utf-8', { fatal: true });
const lenient = new TextDecoder('utf-8');

/** Length of the valid UTF-8 sequence starting at `i`, or 0 when the bytes there are invalid. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  if (b < 0x80) return 1;
  const cont = (at: number, low = 0x80, high = 0xbf) =>
    at < bytes.length && bytes[at] >= low && bytes[at] <= high;
  // Ranges from the Unicode standard, table 3-7 (no overlong forms, no surrogates, nothing past U+10FFFF).
  if (b >= 0xc2 && b <= 0xdf) return cont(i + 1) ? 2 : 0;
  if (b === 0xe0) return cont(i + 1, 0xa0) && cont(i + 2) ? 3 : 0;
  if (b === 0xed) return cont(i + 1, 0x80, 0x9f) && cont(i + 2) ? 3 : 0;
  if (b >= 0xe1 && b <= 0xef) return cont(i + 1) && cont(i + 2) ? 3 : 0;
  if (b === 0xf0) return cont(i + 1, 0x90) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b >= 0xf1 && b <= 0xf3) return cont(i + 1) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  if (b === 0xf4) return cont(i + 1, 0x80, 0x8f) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  return 0;
}

/**
 * Lines holding invalid UTF-8 (at most `limit` of them, from the top), each with the byte column where
 * its first bad sequence starts.
 */
export function invalidUtf8Lines(bytes: Uint8Array, limit = Infinity): Map<number, number> {
  const found = new Map<number, number>();
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < bytes.length && found.size < limit;) {
    if (bytes[i] === 0x0a) {
      line++;
      lineStart = ++i;
      continue;
    }
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      if (!found.has(line)) found.set(line, i - lineStart + 1);
      i++;
    } else i += length;
  }
  return found;
}

/** The text of `bytes` (a BOM dropped), or where its first invalid byte is. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { invalid: Utf8Position } {
  try {
    return { text: strict.decode(bytes) };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_ENCODING_INVALID_ENCODED_DATA') throw error;
    const [line, column] = invalidUtf8Lines(bytes, 1).entries().next().value ?? [1, 1];
    return { invalid: { line, column } };
  }
}

/** Decodes with U+FFFD for invalid bytes: only for text whose invalid lines are skipped by the caller. */
export const decodeUtf8Lenient = (bytes: Uint8Array): string => lenient.decode(bytes);

/** The reason given for a line with invalid bytes (the line itself is named by the caller). */
export const describeInvalidUtf8 = (column: number): string =>
  `invalid UTF-8 at byte ${column} of the line (dataset files must be UTF-8 text)`;
