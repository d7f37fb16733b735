/**
 * tokenizer.json `normalizer` components. HF applies the normalizer to each piece of input left
 * between added tokens (not to the whole string), which is why Llama's `Prepend("▁")` puts a `▁`
 * after every special token in legacy tokenizers; the pipeline in tokenizer.ts relies on that.
 */
import { buildFromRegistry, describeValue, type JsonNode } from './json.ts';
import { compileRegex, literalRegex, RegexTranslationError } from './regex.ts';
import {
  isBertControl,
  isBertWhitespace,
  isChineseChar,
  isMark,
  isNonspacingMark,
  isWhitespace,
  lowercaseChars,
  toByteLevel,
} from './unicode.ts';

export interface Normalizer {
  normalize(text: string): string;
}

/** Reads a `{"String": ...}` or `{"Regex": ...}` pattern object (Replace, Split). */
export function readPattern(node: JsonNode): RegExp {
  node.object('an object with a "String" or "Regex" key');
  const key = node.has('String') ? 'String' : node.has('Regex') ? 'Regex' : undefined;
  if (key === undefined) throw node.fail('must have a "String" or "Regex" key');
  const patternNode = node.field(key);
  const source = patternNode.string();
  try {
    return key === 'String' ? literalRegex(source) : compileRegex(source);
  } catch (error) {
    if (error instanceof RegexTranslationError)
      throw patternNode.fail(`${describeValue(source)} ${error.message}`);
    throw error;
  }
}

/** Replaces every match with `content` taken literally (no `$1` expansion, as in HF). */
export function replaceAll(text: string, regex: RegExp, content: string): string {
  return text.replace(regex, () => content);
}

function filterChars(text: string, keep: (ch: string) => boolean): string {
  let out = '';
  for (const ch of text) if (keep(ch)) out += ch;
  return out;
}

function stripWhitespace(text: string, left: boolean, right: boolean): string {
  const chars = [...text];
  let start = 0;
  let end = chars.length;
  if (left) while (start < end && isWhitespace(chars[start])) start++;
  if (right) while (end > start && isWhitespace(chars[end - 1])) end--;
  return chars.slice(start, end).join('');
}

/** The NMT normalizer's control-character filter and whitespace folding. */
function nmt(text: string): string {
  let out = '';
  for (const ch of text) {
    const c = ch.codePointAt(0) ?? 0;
    if ((c >= 0x01 && c <= 0x08) || c === 0x0b || (c >= 0x0e && c <= 0x1f) || c === 0x7f) continue;
    if (c === 0x8f || c === 0x9f) continue;
    const toSpace =
      c === 0x09 ||
      c === 0x0a ||
      c === 0x0c ||
      c === 0x0d ||
      c === 0x1680 ||
      (c >= 0x200b && c <= 0x200f) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x2581 ||
      c === 0xfeff ||
      c === 0xfffd;
    out += toSpace ? ' ' : ch;
  }
  return out;
}

function bertNormalizer(node: JsonNode): Normalizer {
  const cleanText = node.field('clean_text').boolean(true);
  const handleChineseChars = node.field('handle_chinese_chars').boolean(true);
  const lowercase = node.field('lowercase').boolean(true);
  // HF: `strip_accents: null` means "follow lowercase".
  const stripAccents = node.field('strip_accents').optionalBoolean() ?? lowercase;
  return {
    normalize(text) {
      let out = text;
      if (cleanText) {
        out = filterChars(out, (ch) => ch !== '\0' && ch !== '\uFFFD' && !isBertControl(ch));
        out = [...out].map((ch) => (isBertWhitespace(ch) ? ' ' : ch)).join('');
      }
      if (handleChineseChars) {
        out = [...out].map((ch) => (isChineseChar(ch) ? ` ${ch} ` : ch)).join('');
      }
      if (stripAccents) out = filterChars(out.normalize('NFD'), (ch) => !isNonspacingMark(ch));
      if (lowercase) out = lowercaseChars(out);
      return out;
    },
  };
}

const NORMALIZERS: Readonly<Record<string, (node: JsonNode) => Normalizer>> = {
  Sequence(node) {
    const parts = node.field('normalizers').items().map(buildNormalizer);
    return { normalize: (text) => parts.reduce<string>((acc, part) => part.normalize(acc), text) };
  },
  Prepend(node) {
    const prepend = node.field('prepend').string();
    // HF only prepends to non-empty strings.
    return { normalize: (text) => (text === '' ? text : prepend + text) };
  },
  Replace(node) {
    const regex = readPattern(node.field('pattern'));
    const content = node.field('content').string();
    return { normalize: (text) => replaceAll(text, regex, content) };
  },
  NFC: () => ({ normalize: (text) => text.normalize('NFC') }),
  NFD: () => ({ normalize: (text) => text.normalize('NFD') }),
  NFKC: () => ({ normalize: (text) => text.normalize('NFKC') }),
  NFKD: () => ({ normalize: (text) => text.normalize('NFKD') }),
  Lowercase: () => ({ normalize: lowercaseChars }),
  Strip(node) {
    const left = node.field('strip_left').boolean(true);
    const right = node.field('strip_right').boolean(true);
    return { normalize: (text) => stripWhitespace(text, left, right) };
  },
  // HF StripAccents drops every combining mark (General_Category=Mark); it does not decompose first.
  StripAccents: () => ({ normalize: (text) => filterChars(text, (ch) => !isMark(ch)) }),
  BertNormalizer: bertNormalizer,
  Nmt: () => ({ normalize: nmt }),
  ByteLevel: () => ({ normalize: toByteLevel }),
};

export function buildNormalizer(node: JsonNode): Normalizer {
  return buildFromRegistry(node, NORMALIZERS);
}

export const SUPPORTED_NORMALIZERS = Object.keys(NORMALIZERS);
