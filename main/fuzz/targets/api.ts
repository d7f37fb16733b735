/**
 * The API boundary (main/common/api `validateCall`): random method names (near misses, inherited
 * Object members, non-strings) with valid, mutated, deep, huge and non-JSON parameters (Electron's
 * structured clone delivers NaN, BigInt, Map, Date, typed arrays; JSON delivers `"__proto__"` keys).
 *
 * Property: the call is accepted or refused with FusionError BAD_REQUEST and a bounded message; an
 * accepted call keeps its method, validates again to the same parameters, and carries plain objects
 * (no prototype a message could have planted); every valid example is accepted. startRun's settings
 * then go through their analysis's schema (main/engine/analyses) under the same property.
 */
import * as fc from 'fast-check';

import {
  API_METHODS,
  isApiMethod,
  validateCall,
  type ApiMethod,
  type ApiParams,
  type ApiParamsIn,
} from '../../common/api/index.ts';
import { FusionError } from '../../common/errors.ts';
import { analysisOf } from '../../engine/analyses/registry.ts';
import { canonicalJson } from '../../engine/store/canonicalJson.ts';
import {
  jsonMutations,
  materialize,
  mutateJson,
  oddJson,
  type JsonMutation,
  type OddValue,
} from '../json.ts';
import { ensure, rejectsOnlyWith, type FuzzTarget } from '../target.ts';

/** At least one accepted call per method; the mapped type makes a new method need its examples. */
const VALID: { readonly [M in ApiMethod]: readonly ApiParamsIn<M>[] } = {
  appInfo: [{}],
  listModels: [{}],
  openModel: [{ folder: '/models/llava' }, { folder: 'C:\\m', provider: 'cpu', precision: 'fp16' }],
  closeModel: [{ modelId: '/models/llava' }],
  listDatasets: [{}],
  importDataset: [{ path: '/data/vqa', format: 'vqav2', answers: '/data/a.json', images: '/data/img' }],
  datasetItems: [{ datasetId: '/data/vqa' }, { datasetId: 'd', offset: 10, limit: 1000, family: 'color' }],
  listAnalyses: [{}],
  startRun: [
    {
      kind: 'sweep',
      modelId: 'm',
      datasetId: 'd',
      limit: 5,
      config: { mode: 'knockout', window: 3, tokens: [1, 2], maxNewTokens: 8, promptSuffix: '' },
    },
    { kind: 'evolve', modelId: 'm', datasetId: 'd', itemIds: ['a'], config: { rows: 'last', perHead: true } },
    {
      kind: 'contrast',
      modelId: 'm',
      datasetId: 'd',
      config: { candidateLayers: [1, 2], reviewLayer: 3, rho: 0.5, methods: ['mask', 'vicrop'] },
    },
    { kind: 'eval', modelId: 'm', datasetId: 'd', config: {} },
    { kind: 'eval', modelId: 'm', datasetId: 'd', limit: 3, queue: 'redis://user:p%40ss@queue.lab:6380/2' },
  ],
  listJobs: [{}],
  listWorkers: [{ queue: 'redis://127.0.0.1:6379' }, { queue: 'rediss://[::1]:6380' }],
  cancelJob: [{ jobId: 1 }],
  listRuns: [{}, { kind: 'sweep', modelId: 'm' }],
  resumeRun: [{ runId: 3 }],
  deleteRun: [{ runId: 3 }],
  runSummary: [
    { runId: 1, metric: 'score', labels: { scale: 'relative', plateauLength: { fraction: 0.2 } } },
    { runId: 2, family: 'color', labels: { criterion: 'marginal', correction: 'holm' } },
  ],
  compareSweeps: [{ runIds: [1, 2] }, { runIds: [3, 4], metric: 'gold_prob' }],
  runSamples: [{ runId: 1, offset: 0, limit: 1 }],
  sampleDetail: [{ runId: 1, itemId: 'x' }],
  imageLensLayer: [{ runId: 1, itemId: 'x', layer: 0 }],
  exportFigure: [{ svg: '<svg/>', format: 'png', scale: 2, name: 'figure-1.v2' }],
  exportRunData: [{ runId: 1, format: 'csv' }],
  exportReport: [{ runId: 1 }],
  listRecent: [{}],
  forgetRecent: [
    { kind: 'model', path: '/models/llava' },
    { kind: 'dataset', path: 'C:\\data\\pope.json' },
  ],
  inspectPath: [{ path: '/home/me/Downloads/cat.webp' }],
  askImage: [
    { modelId: 'm', image: { base64: 'iVBORw0KGgo=' }, question: 'what color?' },
    {
      modelId: 'm',
      image: { base64: '/9j/4AAQ', name: 'cat.jpg' },
      question: 'where is the cat?',
      maxNewTokens: 256,
      mask: { mode: 'hidden', layers: [0, 31], scale: 0.1 },
    },
    { modelId: 'm', image: { base64: 'R0lG' }, question: 'q', mask: { mode: 'knockout', layers: [3] } },
  ],
};

/** Values only Electron's structured clone (not JSON) can deliver, and prototype-planting objects. */
const CLONE_ONLY = {
  NaN: () => NaN,
  Infinity: () => -Infinity,
  undefined: () => undefined,
  bigint: () => 2n ** 70n,
  date: () => new Date(0),
  map: () => new Map([['folder', '/x']]),
  set: () => new Set([1]),
  bytes: () => new Uint8Array(4),
  sparse: () => [, , 1], // eslint-disable-line no-sparse-arrays -- holes are the point
  nullPrototype: () => Object.assign(Object.create(null) as object, { folder: '/x' }),
  protoKey: () => JSON.parse('{"__proto__": {"polluted": true}, "folder": "/x"}') as unknown,
  constructorKey: () => JSON.parse('{"constructor": {"prototype": {"polluted": true}}}') as unknown,
} as const;

type CloneOnly = keyof typeof CLONE_ONLY;

type MethodRecipe =
  | { readonly known: ApiMethod }
  | { readonly name: unknown }
  /** A name this many characters long. */
  | { readonly longName: number };

type ApiRecipe =
  | { readonly kind: 'valid'; readonly method: ApiMethod; readonly example: number }
  | {
      readonly kind: 'mutated';
      readonly method: MethodRecipe;
      readonly example: number;
      readonly mutations: JsonMutation[];
    }
  | {
      readonly kind: 'field';
      readonly method: ApiMethod;
      readonly example: number;
      /** A key of the example (by index), or a name. */
      readonly field: number | string;
      readonly value: CloneOnly;
    }
  | {
      readonly kind: 'random';
      readonly method: MethodRecipe;
      readonly params: OddValue | { readonly clone: CloneOnly };
    };

const knownMethod = fc.constantFrom(...API_METHODS);

const methodRecipe: fc.Arbitrary<MethodRecipe> = fc.oneof(
  { arbitrary: knownMethod.map((known) => ({ known })), weight: 6 },
  {
    arbitrary: fc
      .oneof(
        fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', ''),
        knownMethod.map((m) => m.toUpperCase()),
        knownMethod.map((m) => `${m}\u0000`),
        fc.string({ unit: 'binary', maxLength: 30 }),
      )
      .map((name) => ({ name })),
    weight: 3,
  },
  { arbitrary: fc.nat({ max: 1_000_000 }).map((longName) => ({ longName })), weight: 1 },
  {
    arbitrary: fc
      .constantFrom(null, undefined, 42, ['appInfo'], { method: 'appInfo' })
      .map((name) => ({ name })),
    weight: 1,
  },
);

const cloneOnly = fc.constantFrom(...(Object.keys(CLONE_ONLY) as CloneOnly[]));

const arbitrary: fc.Arbitrary<ApiRecipe> = fc.oneof(
  fc.record({ kind: fc.constant('valid' as const), method: knownMethod, example: fc.nat() }),
  fc.record({
    kind: fc.constant('mutated' as const),
    method: methodRecipe,
    example: fc.nat(),
    mutations: jsonMutations(),
  }),
  fc.record({
    kind: fc.constant('field' as const),
    method: knownMethod,
    example: fc.nat(),
    field: fc.oneof(
      fc.nat({ max: 15 }),
      fc.constantFrom('folder', 'path', 'runId', 'config', 'kind', 'svg', 'offset', 'tokens', '__proto__'),
    ),
    value: cloneOnly,
  }),
  fc.record({
    kind: fc.constant('random' as const),
    method: methodRecipe,
    params: fc.oneof(
      oddJson,
      cloneOnly.map((clone) => ({ clone })),
    ),
  }),
);

/** An error message longer than this would flood the UI and logs with a hostile message's text. */
const MAX_MESSAGE_CHARS = 2000;

function example(method: ApiMethod, index: number): Record<string, unknown> {
  const examples = VALID[method] as readonly Record<string, unknown>[];
  return structuredClone(examples[index % examples.length]);
}

function methodName(recipe: MethodRecipe): unknown {
  if ('known' in recipe) return recipe.known;
  return 'longName' in recipe ? 'm'.repeat(recipe.longName) : recipe.name;
}

/** The (method, params) a recipe stands for. */
export function buildCall(recipe: ApiRecipe): { method: unknown; params: unknown } {
  switch (recipe.kind) {
    case 'valid':
      return { method: recipe.method, params: example(recipe.method, recipe.example) };
    case 'mutated': {
      const method = methodName(recipe.method);
      const base = isApiMethod(method) ? method : 'openModel';
      return { method, params: mutateJson(example(base, recipe.example), recipe.mutations) };
    }
    case 'field': {
      const params = example(recipe.method, recipe.example);
      const keys = Object.keys(params);
      const field =
        typeof recipe.field === 'string'
          ? recipe.field
          : (keys[recipe.field % Math.max(keys.length, 1)] ?? 'folder');
      Object.defineProperty(params, field, {
        value: CLONE_ONLY[recipe.value](),
        enumerable: true,
        writable: true,
        configurable: true,
      });
      return { method: recipe.method, params };
    }
    case 'random':
      return {
        method: methodName(recipe.method),
        params: 'clone' in recipe.params ? CLONE_ONLY[recipe.params.clone]() : materialize(recipe.params),
      };
  }
}

const isBadRequest = (error: unknown) => error instanceof FusionError && error.code === 'BAD_REQUEST';

function isPlainData(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null || depth > 64) return true;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== Array.prototype && proto !== null) return false;
  return Object.values(value).every((v) => isPlainData(v, depth + 1));
}

/**
 * One gate of the boundary: `pass` accepts (its value) or refuses with BAD_REQUEST and a bounded
 * message, never otherwise; a valid example is never refused. Undefined when refused.
 */
async function gate<T>(recipe: ApiRecipe, what: string, pass: () => T): Promise<T | undefined> {
  let refusal: Error | undefined;
  const refused = (error: unknown) => isBadRequest(error) && ((refusal = error as Error), true);
  const accepted = await rejectsOnlyWith(pass, refused, what);
  if (recipe.kind === 'valid') {
    ensure(accepted !== undefined, () => `${what} refused a valid call: ${(refusal as Error).message}`);
  }
  if (accepted === undefined) {
    const message = (refusal as Error).message;
    ensure(
      message.length <= MAX_MESSAGE_CHARS,
      () => `the refusal's message is ${message.length} characters long`,
    );
  }
  return accepted;
}

async function check(recipe: ApiRecipe): Promise<void> {
  const { method, params } = buildCall(recipe);
  const accepted = await gate(recipe, 'validateCall', () => validateCall(method, params));
  if (accepted === undefined) return;
  ensure(accepted.method === method, () => `validateCall changed the method to ${String(accepted.method)}`);
  ensure(isPlainData(accepted.params), () => 'accepted parameters hold an object with a foreign prototype');
  ensure(({} as Record<string, unknown>).polluted === undefined, () => 'Object.prototype was polluted');
  const again = await rejectsOnlyWith(
    () => validateCall(method, accepted.params),
    isBadRequest,
    'revalidation',
  );
  ensure(again !== undefined, () => 'parameters validateCall returned are refused when validated again');
  if (accepted.method === 'startRun') await checkSettings(recipe, accepted.params as ApiParams<'startRun'>);
}

/**
 * startRun's settings pass a second gate as the call is handled: the analysis's own schema, under the
 * same property; what it returns parses again to itself.
 */
async function checkSettings(recipe: ApiRecipe, params: ApiParams<'startRun'>): Promise<void> {
  const parse = (config: unknown) => () =>
    analysisOf(params.kind, 'BAD_REQUEST').parseConfig(config, 'BAD_REQUEST');
  const parsed = await gate(recipe, 'the analysis settings schema', parse(params.config));
  if (parsed === undefined) return;
  ensure(isPlainData(parsed), () => 'parsed settings hold an object with a foreign prototype');
  const again = await rejectsOnlyWith(parse(parsed), isBadRequest, 'settings revalidation');
  ensure(again !== undefined, () => 'settings the schema returned are refused when parsed again');
  ensure(
    canonicalJson(again) === canonicalJson(parsed),
    () => 'settings change when parsed a second time (a run identity must be stable)',
  );
}

export const apiTarget: FuzzTarget<ApiRecipe> = {
  name: 'api',
  summary:
    'validateCall (main/common/api) with random methods and valid, mutated, deep, huge, non-JSON params',
  weight: 1,
  open: async () => ({ arbitrary, check }),
};
