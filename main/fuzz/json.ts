/**
 * Structural mutations of a valid JSON document (tokenizer.json, a dataset file, API parameters):
 * replace a node with an odd value, delete it, copy another subtree over it (so a `type` name from one
 * component lands in another), or rename a key. Nodes are picked by their pre-order index modulo the
 * node count, so counterexamples shrink towards the root and towards fewer mutations.
 */
import * as fc from 'fast-check';

/**
 * A value planted by a mutation, as a recipe: huge and deep values are built when the mutation is
 * applied, so a counterexample prints as `{"nestedArray":150000}`, not as the value itself.
 */
export type OddValue =
  | { readonly json: unknown }
  | { readonly nestedArray: number }
  | { readonly nestedObject: number }
  | { readonly filledArray: number }
  /** An object with this many keys ("k0", "k1", ...). */
  | { readonly manyKeys: number }
  | { readonly longString: number };

export type JsonMutation =
  | { readonly op: 'replace'; readonly at: number; readonly value: OddValue }
  | { readonly op: 'delete'; readonly at: number }
  | { readonly op: 'splice'; readonly from: number; readonly at: number }
  | { readonly op: 'rename'; readonly at: number; readonly key: string };

/** `depth` arrays nested in one another: deeper than any recursive walk's stack allows. */
export function nested(depth: number, leaf: unknown = 0): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

/** The same depth of objects: `{"a": {"a": ...}}`. */
export function nestedObject(depth: number, leaf: unknown = 0): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

export function materialize(odd: OddValue): unknown {
  if ('nestedArray' in odd) return nested(odd.nestedArray);
  if ('nestedObject' in odd) return nestedObject(odd.nestedObject);
  if ('filledArray' in odd) return new Array<number>(odd.filledArray).fill(1);
  if ('manyKeys' in odd)
    return Object.fromEntries(Array.from({ length: odd.manyKeys }, (_, i) => [`k${i}`, i]));
  if ('longString' in odd) return 'x'.repeat(odd.longString);
  return structuredClone(odd.json);
}

/** Strings that trip text handling: empty, NUL, lone surrogates, bidi overrides, line breaks. */
export const oddString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', ' ', '\u0000', '\ud800', '\udfff', '\u202e', '\r\n', '\ufeff', '\u2581', '<0xZZ>', '"'),
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty'),
  fc.constantFrom(
    '.',
    '..',
    '../',
    '../../etc/passwd',
    '/',
    '/etc/passwd',
    'a/../../b',
    'C:\\x',
    '\\\\srv\\x',
    '~',
  ),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Numbers on every boundary the code under test may check (sign, integer, safe range, finite). */
export const oddNumber: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(-1, 0, -0, 1, 0.5, -0.5, 2 ** 31, 2 ** 32, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53)),
  fc.constantFrom(1e308, -1e308, 5e-324, Number.MAX_VALUE),
  fc.integer({ min: -1000, max: 100_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Past ~5,000 levels a recursive walk (JSON.stringify, structuredClone) overflows the stack. */
const DEPTH = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 4_000, max: 20_000 }));
const SIZE = fc.integer({ min: 1, max: 200_000 });

/** Any JSON value a hostile file can hold, weighted towards the odd ones. */
export const oddJson: fc.Arbitrary<OddValue> = fc.oneof(
  { arbitrary: fc.jsonValue({ maxDepth: 3 }).map((json) => ({ json })), weight: 3 },
  { arbitrary: fc.oneof(oddString, oddNumber).map((json) => ({ json })), weight: 4 },
  { arbitrary: fc.constantFrom(null, true, false, [], {}).map((json) => ({ json })), weight: 2 },
  { arbitrary: DEPTH.map((nestedArray) => ({ nestedArray })), weight: 1 },
  { arbitrary: DEPTH.map((nestedObject) => ({ nestedObject })), weight: 1 },
  { arbitrary: fc.nat({ max: 100_000 }).map((filledArray) => ({ filledArray })), weight: 1 },
  { arbitrary: fc.nat({ max: 20_000 }).map((manyKeys) => ({ manyKeys })), weight: 1 },
  { arbitrary: SIZE.map((longString) => ({ longString })), weight: 1 },
);

const pick = fc.nat({ max: 100_000 });

export const jsonMutation: fc.Arbitrary<JsonMutation> = fc.oneof(
  { arbitrary: fc.record({ op: fc.constant('replace' as const), at: pick, value: oddJson }), weight: 4 },
  { arbitrary: fc.record({ op: fc.constant('delete' as const), at: pick }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('splice' as const), from: pick, at: pick }), weight: 2 },
  { arbitrary: fc.record({ op: fc.constant('rename' as const), at: pick, key: oddString }), weight: 1 },
);

export const jsonMutations = (maxLength = 4): fc.Arbitrary<JsonMutation[]> =>
  fc.array(jsonMutation, { minLength: 1, maxLength });

type Container = Record<string, unknown> | unknown[];

interface Slot {
  readonly parent: Container;
  readonly key: string | number;
}

const isContainer = (value: unknown): value is Container => typeof value === 'object' && value !== null;

/**
 * Every non-root node of `root` as (parent, key), in pre-order, stopping at `limit` nodes and at
 * `maxDepth` (the walk must not itself overflow on the nested values it planted).
 */
function slots(root: unknown, limit = 100_000, maxDepth = 64): Slot[] {
  const out: Slot[] = [];
  const stack: Array<{ value: Container; depth: number }> = isContainer(root)
    ? [{ value: root, depth: 0 }]
    : [];
  while (stack.length > 0 && out.length < limit) {
    const { value, depth } = stack.pop()!;
    const keys: Array<string | number> = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    const children: Array<{ value: Container; depth: number }> = [];
    for (const key of keys) {
      out.push({ parent: value, key });
      const child = (value as Record<string | number, unknown>)[key];
      if (isContainer(child) && depth < maxDepth) children.push({ value: child, depth: depth + 1 });
    }
    stack.push(...children.reverse());
  }
  return out;
}

const get = (slot: Slot): unknown => (slot.parent as Record<string | number, unknown>)[slot.key];

function set(slot: Slot, value: unknown): void {
  // defineProperty: a "__proto__" key stays an own property, as JSON.parse would make it.
  Object.defineProperty(slot.parent, slot.key, {
    value,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}

function tryClone(value: unknown): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: structuredClone(value) };
  } catch {
    return { ok: false };
  }
}

/** A deep copy of `doc` with `mutations` applied; replacing the root is `at: 0` with no nodes. */
export function mutateJson(doc: unknown, mutations: readonly JsonMutation[]): unknown {
  let root = structuredClone(doc);
  for (const m of mutations) {
    const all = slots(root);
    if (all.length === 0) {
      if (m.op === 'replace') root = materialize(m.value);
      continue;
    }
    const slot = all[m.at % all.length];
    switch (m.op) {
      case 'replace':
        set(slot, materialize(m.value));
        break;
      case 'delete':
        if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
        else delete slot.parent[slot.key as string];
        break;
      case 'splice': {
        // A copy, so a subtree spliced into itself makes no cycle; one too deep to copy is left out.
        const copy = tryClone(get(all[m.from % all.length]));
        if (copy.ok) set(slot, copy.value);
        break;
      }
      case 'rename': {
        if (Array.isArray(slot.parent)) break;
        const value = get(slot);
        delete slot.parent[slot.key as string];
        set({ parent: slot.parent, key: m.key }, value);
        break;
      }
    }
  }
  return root;
}

/**
 * JSON.stringify without recursion: the text of a document holding values nested deeper than
 * JSON.stringify can walk (what a hostile file on disk would contain).
 */
export function jsonText(value: unknown): string {
  const out: string[] = [];
  // Either a value still to write, or literal text (separators, closing brackets).
  const stack: Array<{ value: unknown } | string> = [{ value }];
  while (stack.length > 0) {
    const top = stack.pop()!;
    if (typeof top === 'string') {
      out.push(top);
      continue;
    }
    const v = top.value;
    if (Array.isArray(v)) {
      stack.push(']');
      for (let i = v.length - 1; i >= 0; i--) {
        stack.push({ value: v[i] === undefined ? null : v[i] });
        if (i > 0) stack.push(',');
      }
      out.push('[');
    } else if (typeof v === 'object' && v !== null) {
      const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      stack.push('}');
      for (let i = keys.length - 1; i >= 0; i--) {
        stack.push({ value: (v as Record<string, unknown>)[keys[i]] });
        stack.push(`${JSON.stringify(keys[i])}:`);
        if (i > 0) stack.push(',');
      }
      out.push('{');
    } else {
      out.push(JSON.stringify(v) ?? 'null');
    }
  }
  return out.join('');
}
