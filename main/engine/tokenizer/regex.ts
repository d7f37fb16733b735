/**
 * Translation of the regex dialect found in tokenizer.json (Oniguruma for `Split`/`Replace`, Rust
 * `regex` elsewhere) into JavaScript `u`-mode regular expressions.
 *
 * The differences that matter for real tokenizers:
 *  - `(?i:...)` scoped case-insensitivity (Llama-3 / Qwen2 contractions) does not exist in Node 20;
 *    ASCII letters inside such a group become `[sS]`-style classes.
 *  - `\s`, `\w`, `\d`, `.` are Unicode-aware in Oniguruma/Rust but not (or differently) in JS; they
 *    are expanded to explicit Unicode classes.
 *  - u-mode rejects identity escapes like `\'` and lone `{`, which Rust accepts as literals.
 * Constructs without a JS equivalent (atomic groups, possessive quantifiers, class set operations,
 * inline flags other than a leading `(?i)`) are rejected with an explanation instead of silently
 * changing the meaning of the pattern.
 */

/** Unicode White_Space, i.e. Oniguruma/Rust `\s` (JS `\s` adds U+FEFF and lacks U+0085). */
const WS_CLASS = '\\t\\n\\v\\f\\r \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
/** Rust regex `\w` (Unicode). */
const WORD_CLASS = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const SYNTAX_CHARS = new Set([...'^$\\.*+?()[]{}|/']);

export class RegexTranslationError extends Error {}

function unsupported(what: string): RegexTranslationError {
  return new RegexTranslationError(`uses ${what}, which JavaScript regular expressions cannot express`);
}

function propertyName(name: string): string {
  for (const candidate of [name, `Script=${name}`]) {
    try {
      new RegExp(`\\p{${candidate}}`, 'u');
      return candidate;
    } catch {
      // try the next spelling
    }
  }
  throw new RegexTranslationError(`uses the unknown Unicode property \\p{${name}}`);
}

const isAsciiLetter = (ch: string): boolean => /^[A-Za-z]$/.test(ch);
const otherCase = (ch: string): string => (ch === ch.toLowerCase() ? ch.toUpperCase() : ch.toLowerCase());

function literal(ch: string, inClass: boolean): string {
  if (SYNTAX_CHARS.has(ch) || (inClass && ch === '-')) return `\\${ch}`;
  return ch;
}

/** Translates an Oniguruma/Rust pattern into JS source and flags (always including `gu`). */
export function translateRegex(pattern: string): { source: string; flags: string } {
  let out = '';
  let flags = 'gu';
  let i = 0;
  let inClass = false;
  const groups: boolean[] = []; // true for a `(?i:` group
  const caseless = (): boolean => groups.includes(true);
  const at = (k: number): string => pattern[k] ?? '';

  if (pattern.startsWith('(?i)')) {
    flags += 'i';
    i = 4;
  }

  const afterQuantifier = (): void => {
    if (at(i) === '+') throw unsupported('a possessive quantifier');
  };

  while (i < pattern.length) {
    const ch = at(i);

    if (ch === '\\') {
      const next = at(i + 1);
      if (next === '') throw new RegexTranslationError('ends with a lone backslash');
      i += 2;
      switch (next) {
        case 's':
          out += inClass ? WS_CLASS : `[${WS_CLASS}]`;
          continue;
        case 'S':
          if (inClass) throw unsupported('\\S inside a character class');
          out += `[^${WS_CLASS}]`;
          continue;
        case 'w':
          out += inClass ? WORD_CLASS : `[${WORD_CLASS}]`;
          continue;
        case 'W':
          if (inClass) throw unsupported('\\W inside a character class');
          out += `[^${WORD_CLASS}]`;
          continue;
        case 'd':
          out += '\\p{Nd}';
          continue;
        case 'D':
          out += '\\P{Nd}';
          continue;
        case 'p':
        case 'P': {
          let name: string;
          if (at(i) === '{') {
            const close = pattern.indexOf('}', i);
            if (close < 0) throw new RegexTranslationError('has an unterminated \\p{...}');
            name = pattern.slice(i + 1, close);
            i = close + 1;
          } else {
            name = at(i);
            i += 1;
          }
          out += `\\${next}{${propertyName(name)}}`;
          continue;
        }
        case 'x':
          if (at(i) === '{') {
            const close = pattern.indexOf('}', i);
            if (close < 0) throw new RegexTranslationError('has an unterminated \\x{...}');
            out += `\\u{${pattern.slice(i + 1, close)}}`;
            i = close + 1;
          } else {
            out += '\\x';
          }
          continue;
        case 'A':
          out += '^';
          continue;
        case 'z':
          out += '$';
          continue;
        case 'Z':
          out += '(?=\\n?$)';
          continue;
        default:
          if (/[0-9bBnrtfvuck]/.test(next)) {
            out += `\\${next}`;
          } else if (/[A-Za-z]/.test(next)) {
            throw unsupported(`the escape \\${next}`);
          } else {
            out += literal(next, inClass);
          }
          continue;
      }
    }

    if (inClass) {
      if (ch === ']') {
        inClass = false;
        out += ']';
        i += 1;
        continue;
      }
      if (ch === '[') throw unsupported('a nested character class');
      if ((ch === '&' || ch === '~') && at(i + 1) === ch)
        throw unsupported('a character class set operation');
      if (ch === '-' && at(i + 1) === '-') throw unsupported('a character class set operation');
      if (caseless() && isAsciiLetter(ch)) {
        // A range like a-z gains its other-case twin; a single letter gains its other case.
        if (at(i + 1) === '-' && isAsciiLetter(at(i + 2))) {
          const end = at(i + 2);
          out += `${ch}-${end}${otherCase(ch)}-${otherCase(end)}`;
          i += 3;
        } else {
          out += ch + otherCase(ch);
          i += 1;
        }
        continue;
      }
      out += ch;
      i += 1;
      continue;
    }

    switch (ch) {
      case '[': {
        inClass = true;
        out += '[';
        i += 1;
        if (at(i) === '^') {
          out += '^';
          i += 1;
        }
        if (at(i) === ']') {
          // Oniguruma and Rust read a `]` right after `[` or `[^` as a literal.
          out += '\\]';
          i += 1;
        }
        continue;
      }
      case '(': {
        if (at(i + 1) !== '?') {
          groups.push(false);
          out += '(';
          i += 1;
          continue;
        }
        const rest = pattern.slice(i + 2);
        if (rest.startsWith('i:')) {
          groups.push(true);
          out += '(?:';
          i += 4;
        } else if (rest.startsWith(':') || rest.startsWith('=') || rest.startsWith('!')) {
          groups.push(false);
          out += `(?${rest[0]}`;
          i += 3;
        } else if (rest.startsWith('<=') || rest.startsWith('<!')) {
          groups.push(false);
          out += `(?${rest.slice(0, 2)}`;
          i += 4;
        } else if (rest.startsWith('P<') || rest.startsWith('<')) {
          groups.push(false);
          out += '(?<';
          i += rest.startsWith('P<') ? 4 : 3;
        } else if (rest.startsWith('>')) {
          throw unsupported('an atomic group (?>...)');
        } else {
          throw unsupported(`the inline flag group (?${rest.slice(0, 3)}...`);
        }
        continue;
      }
      case ')':
        if (groups.length === 0) throw new RegexTranslationError('has an unbalanced )');
        groups.pop();
        out += ')';
        i += 1;
        continue;
      case '*':
      case '+':
      case '?':
        out += ch;
        i += 1;
        if (at(i) === '?') {
          out += '?';
          i += 1;
        } else {
          afterQuantifier();
        }
        continue;
      case '{': {
        const quantifier = /^\{(\d*)(,(\d*))?\}/.exec(pattern.slice(i));
        if (quantifier !== null && (quantifier[1] !== '' || (quantifier[3] ?? '') !== '')) {
          // Oniguruma reads `{,n}` as `{0,n}`.
          const min = quantifier[1] === '' ? '0' : quantifier[1];
          out += `{${min}${quantifier[2] ?? ''}}`;
          i += quantifier[0].length;
          if (at(i) === '?') {
            out += '?';
            i += 1;
          } else {
            afterQuantifier();
          }
        } else {
          out += '\\{';
          i += 1;
        }
        continue;
      }
      case '}':
      case ']':
        out += `\\${ch}`;
        i += 1;
        continue;
      case '.':
        // Oniguruma and Rust `.` exclude only \n; JS also excludes \r, U+2028 and U+2029.
        out += '[^\\n]';
        i += 1;
        continue;
      default:
        if (caseless() && isAsciiLetter(ch)) {
          out += `[${ch}${otherCase(ch)}]`;
        } else {
          out += ch;
        }
        i += 1;
    }
  }
  if (inClass) throw new RegexTranslationError('has an unterminated character class');
  if (groups.length > 0) throw new RegexTranslationError('has an unbalanced (');
  return { source: out, flags };
}

/**
 * `new RegExp(source, flags)`, matched once against a one-byte and a two-byte string: V8 compiles a
 * regex at its first match, and only then refuses one too large ("Regular expression too large",
 * e.g. a 32 Ki-character pattern), which would otherwise surface in every encode() instead of here.
 */
function compiled(source: string, flags: string): RegExp {
  let regex: RegExp;
  try {
    regex = new RegExp(source, flags);
    for (const probe of ['', '\u0100']) {
      regex.lastIndex = 0;
      regex.test(probe);
    }
  } catch (error) {
    // V8's message quotes the whole pattern ("Invalid regular expression: /…/gu: <reason>"); a long
    // one is cut to the reason (the caller quotes the pattern, clipped).
    const message = (error as Error).message;
    const reason = message.length <= 200 ? message : message.slice(message.lastIndexOf(': ') + 2);
    throw new RegexTranslationError(`does not compile as a JavaScript regex (${reason})`);
  }
  regex.lastIndex = 0;
  return regex;
}

/** Compiles a tokenizer.json regex; throws RegexTranslationError with a reason on failure. */
export function compileRegex(pattern: string): RegExp {
  const { source, flags } = translateRegex(pattern);
  return compiled(source, flags);
}

/** A literal string as a global regex (HF compiles `{"String": ...}` patterns via `regex::escape`). */
export function literalRegex(text: string): RegExp {
  // `-` needs no escape outside a class, and u-mode rejects `\-` there.
  return compiled(text.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&'), 'gu');
}
