/**
 * JSON.parse with an error that says where the text stops being JSON and never what it says.
 *
 * V8's messages quote the text ("Unexpected token 'o', "nope" is not valid JSON"); when a path points
 * at the wrong file (a key, a password file), that would put its contents in an error message, a log
 * or a bug report. So on failure the text is scanned once more for the offset of the first character
 * that cannot continue a JSON document, and only its line and column are reported.
 */

const WHITESPACE = new Set([' ', '\t', '\n', '\r']);
const SIMPLE_ESCAPES = new Set(['"', '\\', '/', 'b', 'f', 'n', 'r', 't']);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /[0-9a-fA-F]{4}/y;
const LITERALS = ['true', 'false', 'null'];

/**
 * The offset of the first character that makes `text` invalid JSON (`text.length` when it ends
 * early), or undefined when it is valid. Containers are tracked on an explicit stack: a hostile file
 * may nest deeper than the call stack allows.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let i = 0;
  const containers: Array<'{' | '['> = [];
  const skipWhitespace = () => {
    while (i < text.length && WHITESPACE.has(text[i])) i++;
  };
  /** Whether the pattern matches at i; if so, i moves past the match. */
  const consume = (pattern: RegExp): boolean => {
    pattern.lastIndex = i;
    if (!pattern.test(text)) return false;
    i = pattern.lastIndex;
    return true;
  };
  /** A string from its opening quote; on failure i is left on the offending character. */
  const string = (): boolean => {
    if (text[i] !== '"') return false;
    i++;
    while (i < text.length) {
      const c = text[i];
      if (c === '"') {
        i++;
        return true;
      }
      if (c < ' ') return false;
      if (c !== '\\') {
        i++;
      } else if (SIMPLE_ESCAPES.has(text[i + 1])) {
        i += 2;
      } else if (text[i + 1] === 'u') {
        i += 2;
        if (!consume(HEX4)) return false;
      } else {
        i++;
        return false;
      }
    }
    return false;
  };
  const scalar = (): boolean => {
    if (text[i] === '"') return string();
    if (consume(NUMBER)) return true;
    const literal = LITERALS.find((word) => text.startsWith(word, i));
    if (literal === undefined) return false;
    i += literal.length;
    return true;
  };
  /** `"name"` then `:`, leaving i on the value. */
  const key = (): boolean => {
    if (!string()) return false;
    skipWhitespace();
    if (text[i] !== ':') return false;
    i++;
    return true;
  };

  let expectValue = true;
  for (;;) {
    skipWhitespace();
    if (expectValue) {
      if (i >= text.length) return i;
      const c = text[i];
      if (c === '{' || c === '[') {
        containers.push(c);
        i++;
        skipWhitespace();
        const close = c === '{' ? '}' : ']';
        if (text[i] === close) {
          containers.pop();
          i++;
          expectValue = false;
        } else if (c === '{' && !key()) return i;
        continue;
      }
      if (!scalar()) return i;
      expectValue = false;
      continue;
    }
    const open = containers[containers.length - 1];
    if (open === undefined) return i < text.length ? i : undefined;
    if (i >= text.length) return i;
    const c = text[i];
    if (c === ',') {
      i++;
      skipWhitespace();
      if (open === '{' && !key()) return i;
      expectValue = true;
    } else if (c === (open === '{' ? '}' : ']')) {
      containers.pop();
      i++;
    } else return i;
  }
}

/** Where `text` stops being JSON, for a message: "at line 3, column 14" or "it ends early". */
export function describeJsonError(text: string): string {
  const offset = jsonErrorOffset(text);
  if (offset === undefined) return 'it is not valid JSON';
  if (offset >= text.length) return text.trim() === '' ? 'it is empty' : 'it ends early';
  let line = 1;
  let lineStart = 0;
  for (let at = text.indexOf('\n'); at !== -1 && at < offset; at = text.indexOf('\n', at + 1)) {
    line++;
    lineStart = at + 1;
  }
  return `at line ${line}, column ${offset - lineStart + 1}`;
}

/**
 * JSON.parse(text), or the error `invalid(where)` makes, `where` being describeJsonError's location
 * (callers choose the code and name the file).
 */
export function parseJsonText(text: string, invalid: (where: string) => Error): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw invalid(describeJsonError(text));
  }
}
