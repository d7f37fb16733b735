/**
 * Text from files and paths made safe to put in an error message. A checkpoint's tensor names, a
 * config's strings or a file name can hold control characters (a terminal escape, a carriage return
 * that overwrites the line, a right-to-left override that reverses it); printed raw, they would let a
 * file forge what the user reads. They are shown as escapes instead, and long values are cut.
 */

// C0, DEL and C1 controls, and the Unicode bidirectional overrides and isolates.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is being escaped
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const NAMED_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** The longest value a message shows; a hostile file may hold megabytes in one string. */
export const MAX_SHOWN_CHARS = 200;

/** `text` cut after `max` characters, saying how long it was. */
export function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max)}… (${text.length} characters)` : text;
}

/** `text` with its control characters escaped (`\n`, `\u001b`), cut after `max` characters. */
export function printable(text: string, max = MAX_SHOWN_CHARS): string {
  return clip(text, max).replace(
    UNSAFE,
    (c) => NAMED_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A path as a message shows it: escaped, and cut only when absurdly long. */
export function shownPath(path: string): string {
  return printable(path, 1000);
}

/** A file-derived value as it reads in a message: strings quoted and escaped, anything else as JSON. */
export function quoted(value: unknown, max = MAX_SHOWN_CHARS): string {
  if (typeof value === 'string') return `"${printable(value, max).replace(/"/g, '\\"')}"`;
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // A value nested thousands deep overflows JSON.stringify and String alike (fuzzing found one in a
    // safetensors shape): describe it instead of letting a RangeError escape.
    text = Array.isArray(value) ? 'an array nested too deeply to show' : `a ${typeof value} too deep to show`;
  }
  return printable(text, max);
}
