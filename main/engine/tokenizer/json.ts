/**
 * Path-aware reading of untrusted JSON (tokenizer.json, tokenizer_config.json).
 *
 * Every accessor checks the type before use and, on mismatch, throws a FusionError that names the
 * file, the JSON path (`pre_tokenizer.pretokenizers[1].type`) and the offending value, so malformed
 * files never surface as a TypeError deep inside the pipeline.
 */
import { FusionError, type FusionErrorCode } from '../../common/errors.ts';

export type JsonErrorCode = Extract<FusionErrorCode, 'BAD_TOKENIZER' | 'BAD_CONFIG'>;

/** A short, single-line rendering of a JSON value for error messages. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    // Arrays nested a few thousand deep overflow JSON.stringify's stack, and String() recurses the
    // same way; the message must still be built (a hostile file is exactly when it is shown).
    text = Array.isArray(value) ? 'an array nested too deeply to show' : String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export class JsonNode {
  constructor(
    readonly value: unknown,
    readonly path: string,
    readonly source: string,
    readonly code: JsonErrorCode,
  ) {}

  static root(value: unknown, source: string, code: JsonErrorCode): JsonNode {
    return new JsonNode(value, '', source, code);
  }

  /** An error about this node: `<source>: <path> <detail>`. */
  fail(detail: string): FusionError {
    const where = this.path === '' ? '' : `${this.path} `;
    return new FusionError(this.code, `${this.source}: ${where}${detail}`);
  }

  get isMissing(): boolean {
    return this.value === undefined || this.value === null;
  }

  field(name: string): JsonNode {
    const path = this.path === '' ? name : `${this.path}.${name}`;
    const record = this.isObject() ? (this.value as Record<string, unknown>) : undefined;
    const value = record !== undefined && Object.hasOwn(record, name) ? record[name] : undefined;
    return new JsonNode(value, path, this.source, this.code);
  }

  has(name: string): boolean {
    return this.isObject() && Object.hasOwn(this.value as object, name);
  }

  isObject(): boolean {
    return typeof this.value === 'object' && this.value !== null && !Array.isArray(this.value);
  }

  /** The node as an object; `what` names the expected shape in the error. */
  object(what = 'an object'): Record<string, unknown> {
    if (!this.isObject()) throw this.fail(`must be ${what} (got ${describeValue(this.value)})`);
    return this.value as Record<string, unknown>;
  }

  /** The entries of an object node as child nodes. */
  entries(): Array<[string, JsonNode]> {
    return Object.keys(this.object()).map((key) => [key, this.field(key)]);
  }

  items(): JsonNode[] {
    if (!Array.isArray(this.value)) throw this.fail(`must be an array (got ${describeValue(this.value)})`);
    return this.value.map(
      (item, index) => new JsonNode(item, `${this.path}[${index}]`, this.source, this.code),
    );
  }

  string(): string {
    if (typeof this.value !== 'string')
      throw this.fail(`must be a string (got ${describeValue(this.value)})`);
    return this.value;
  }

  optionalString(): string | undefined {
    return this.isMissing ? undefined : this.string();
  }

  /** A string of exactly one Unicode code point (Rust `char` fields such as Metaspace.replacement). */
  char(): string {
    const text = this.string();
    if ([...text].length !== 1) throw this.fail(`must be a single character (got ${describeValue(text)})`);
    return text;
  }

  boolean(fallback?: boolean): boolean {
    if (this.isMissing && fallback !== undefined) return fallback;
    if (typeof this.value !== 'boolean')
      throw this.fail(`must be true or false (got ${describeValue(this.value)})`);
    return this.value;
  }

  optionalBoolean(): boolean | undefined {
    return this.isMissing ? undefined : this.boolean();
  }

  number(): number {
    if (typeof this.value !== 'number' || !Number.isFinite(this.value)) {
      throw this.fail(`must be a finite number (got ${describeValue(this.value)})`);
    }
    return this.value;
  }

  /** A non-negative integer (token ids, counts). */
  index(fallback?: number): number {
    if (this.isMissing && fallback !== undefined) return fallback;
    const value = this.value;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
      throw this.fail(`must be a non-negative integer (got ${describeValue(value)})`);
    }
    return value;
  }

  /** One of a fixed set of strings. */
  oneOf<T extends string>(allowed: readonly T[], fallback?: T): T {
    if (this.isMissing && fallback !== undefined) return fallback;
    const text = this.string();
    if (!(allowed as readonly string[]).includes(text)) {
      throw this.fail(`${describeValue(text)} is not one of ${allowed.join(', ')}`);
    }
    return text as T;
  }
}

/**
 * Builds a component from `node` with the factory registered under its `type` field. Unknown types
 * fail with the path of the `type` field and the list of supported names.
 */
export function buildFromRegistry<T>(
  node: JsonNode,
  registry: Readonly<Record<string, (node: JsonNode) => T>>,
  typeName?: string,
): T {
  node.object();
  const typeNode = node.field('type');
  const type = typeName ?? typeNode.string();
  const factory = Object.hasOwn(registry, type) ? registry[type] : undefined;
  if (factory === undefined) {
    throw typeNode.fail(
      `${describeValue(type)} is not supported (supported: ${Object.keys(registry).sort().join(', ')})`,
    );
  }
  return factory(node);
}
