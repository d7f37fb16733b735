/**
 * Opens a Hugging Face model folder: config → architecture spec, tokenizer, image processor, weights
 * (validated as a whole, then read one graph at a time), and ONNX Runtime sessions on the chosen
 * execution provider.
 */
import { join } from 'node:path';

import { architectureFor } from '../../../native-models/architectures/registry.ts';
import type { ImageTokenScheme, ModelSpec } from '../../../native-models/architectures/types.ts';
import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { describeWeightProblems, type WeightSource } from '../../../native-models/onnx/materialize.ts';
import type { GraphFile } from '../../../native-models/onnx/modelFiles.ts';
import { providerProbeModel } from '../../../native-models/onnx/probe.ts';
import type { Precision } from '../../../native-models/onnx/storage.ts';
import { WeightStore } from '../../../native-models/safetensors/read.ts';
import { FusionError } from '../../common/errors.ts';
import { readJsonFile, readOptionalJsonFile } from '../files/jsonFile.ts';
import { loadPreprocessorConfig, type ImageProcessorConfig } from '../image/index.ts';
import { ImageTokens, loadSchemeResources } from '../imageTokens/index.ts';
import type { ProviderRequest } from '../runtime/providers.ts';
import { chooseProvider, Session, type ProviderChoice } from '../runtime/session.ts';
import { Tokenizer } from '../tokenizer/index.ts';
import { checkpointFolder } from './checkpointFolder.ts';
import { assertFits, availableGpuMemory, availableMemory, estimateMemory } from './memoryBudget.ts';
import { cachedModel, defaultModelCacheDir, type CachedModel } from './modelCache.ts';
import { resolveModelFolder, type ResolvedModel } from './resolveModelFolder.ts';

export { checkpointFolder };

const MAX_LISTED_PROBLEMS = 40;

export interface OpenModelOptions {
  /** For a hub id or a Hugging Face cache folder: a branch, tag or full commit (default main). */
  readonly revision?: string;
  readonly provider?: ProviderRequest;
  /** How weights are stored in memory (default auto: each in its checkpoint precision). */
  readonly precision?: Precision;
  /** The model cache folder (default: defaultModelCacheDir()). */
  readonly cacheDir?: string;
  /** Tensors below this many bytes are kept inside the cached .onnx files (tests vary it). */
  readonly inlineLimitBytes?: number;
  /**
   * ONNX Runtime threads per run (default: one per core). The app leaves a core to its UI, so clicks
   * stay answered while a sweep runs.
   */
  readonly threads?: number;
  /** Overrides the memory the check assumes is free (tests; default: what the OS reports). */
  readonly availableMemoryBytes?: number;
  /** Called as graphs are built and loaded, for progress bars. */
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

export interface ModelSessions {
  readonly vision: Session;
  readonly embed: Session;
  readonly layers: readonly Session[];
  readonly head: Session;
}

export interface ModelInfo {
  readonly folder: string;
  /** The hub repo, revision and commit when the folder is a Hugging Face cache snapshot. */
  readonly hub: ResolvedModel['hub'];
  readonly modelType: string;
  readonly weightsDtype: string;
  readonly parameterCount: number;
  readonly executionProvider: string;
  readonly providerFallbacks: readonly string[];
  /** The --precision asked for, and the bytes the stored weights take. */
  readonly precision: Precision;
  readonly storedWeightBytes: number;
  /** The model cache entry the sessions run from (LoadedModel.cache says whether this open built it). */
  readonly cache: { readonly dir: string; readonly bytes: number };
  /** null when the count varies per image (LLaVA-NeXT); imageGrid is then the base image's grid. */
  readonly imageTokensPerImage: number | null;
  readonly imageGrid: { rows: number; cols: number; leadingTokens: number };
  /** How the family lays out image tokens (ImageTokenScheme kinds). */
  readonly imageTokenScheme: ImageTokenScheme['kind'];
  readonly summary: Readonly<Record<string, string | number | boolean>>;
}

export class LoadedModel {
  /** How this model's images become tokens: its spec's scheme module, bound to this model. */
  readonly imageTokens: ImageTokens;

  constructor(
    readonly folder: string,
    readonly spec: ModelSpec,
    readonly tokenizer: Tokenizer,
    readonly imageConfig: ImageProcessorConfig,
    readonly provider: ProviderChoice,
    readonly sessions: ModelSessions,
    readonly eosTokenIds: readonly number[],
    private readonly weightFacts: { dtype: string; parameters: number },
    readonly precision: Precision,
    readonly cache: CachedModel,
    /** Where the folder came from when it is a hub cache snapshot (resolveModelFolder.ts). */
    readonly hub: ResolvedModel['hub'],
    /** What the image-token scheme loaded beside the checkpoint (e.g. a second tokenizer). */
    schemeResources: unknown,
  ) {
    this.imageTokens = new ImageTokens(spec, imageConfig, sessions.vision, schemeResources);
  }

  info(): ModelInfo {
    return {
      folder: this.folder,
      hub: this.hub,
      modelType: this.spec.modelType,
      weightsDtype: this.weightFacts.dtype,
      parameterCount: this.weightFacts.parameters,
      executionProvider: this.provider.provider,
      providerFallbacks: this.provider.fallbackReasons,
      precision: this.precision,
      storedWeightBytes: this.cache.manifest.storedBytes,
      cache: {
        dir: this.cache.dir,
        bytes: this.cache.manifest.weightBytes + this.cache.manifest.graphs.reduce((n, g) => n + g.bytes, 0),
      },
      ...this.imageTokens.facts(),
      imageTokenScheme: this.imageTokens.kind,
      summary: this.spec.summary,
    };
  }

  async close(): Promise<void> {
    const { vision, embed, layers, head } = this.sessions;
    await Promise.all([vision, embed, ...layers, head].map((s) => s.release()));
  }
}

function weightSource(store: WeightStore): WeightSource {
  return {
    shapeOf: (name) => (store.has(name) ? store.entry(name).shape : undefined),
    dtypeOf: (name) => (store.has(name) ? store.entry(name).dtype : undefined),
    readRaw: (name) => store.readRaw(name),
  };
}

/**
 * eos ids: generation_config.json's eos_token_id (an int or a list) wins over the tokenizer's, as
 * transformers' generate does. A value that is no token of the vocabulary is refused: ignored, it
 * would leave generation running to max_new_tokens with nothing saying why.
 */
async function eosTokenIds(folder: string, tokenizer: Tokenizer, vocabSize: number): Promise<number[]> {
  const path = join(folder, 'generation_config.json');
  const generation = await readOptionalJsonFile(path);
  const fromConfig =
    typeof generation === 'object' && generation !== null
      ? (generation as { eos_token_id?: unknown }).eos_token_id
      : undefined;
  // null is what save_pretrained writes for "no eos"; the tokenizer's then stands.
  const ids: unknown[] = Array.isArray(fromConfig) ? fromConfig : fromConfig == null ? [] : [fromConfig];
  const isTokenId = (id: unknown): id is number =>
    typeof id === 'number' && Number.isSafeInteger(id) && id >= 0 && id < vocabSize;
  if (!ids.every(isTokenId)) {
    throw new FusionError(
      'BAD_CONFIG',
      `${shownPath(path)}: eos_token_id must be a token id in [0, ${vocabSize - 1}] or a list of them, got ${quoted(fromConfig)}`,
    );
  }
  if (ids.length > 0) return ids;
  return tokenizer.eosTokenId !== undefined ? [tokenizer.eosTokenId] : [];
}

/** Opens the model `requested` names: a folder, a Hugging Face cache folder or a hub id (resolveModelFolder.ts). */
export async function openModel(requested: string, options: OpenModelOptions = {}): Promise<LoadedModel> {
  const { folder, hub } = await resolveModelFolder(requested, { revision: options.revision });
  const configPath = join(folder, 'config.json');
  const config = await readJsonFile(configPath);
  const modelType = (config as { model_type?: unknown }).model_type;
  const spec = architectureFor(modelType, configPath).parse(config, 'config.json');
  const tokenizer = await Tokenizer.fromFolder(folder);
  checkImageToken(spec, tokenizer);
  // Checked before any graph is built: a bad generation_config.json should not cost a model build.
  const eos = await eosTokenIds(folder, tokenizer, spec.decoder.vocabSize);
  const schemeResources = await loadSchemeResources(spec, folder);
  const imageConfig = await loadPreprocessorConfig(folder);
  const store = await WeightStore.open(folder);
  try {
    const built = spec.build(store.names());
    const graphs: GraphFile[] = [
      { file: 'vision', label: 'vision', built: built.graphs.vision },
      { file: 'embed', label: 'embed', built: built.graphs.embed },
      ...built.graphs.layers.map((g, i) => ({
        file: `layer-${String(i).padStart(3, '0')}`,
        label: `decoder layer ${i}`,
        built: g,
      })),
      { file: 'head', label: 'head', built: built.graphs.head },
    ];
    const source = weightSource(store);
    const problems = graphs.flatMap((g) => describeWeightProblems(g.built.weights, source));
    problems.push(
      ...built.unexpectedTensors.map((n) => `unexpected tensor ${quoted(n)} (no part of the model reads it)`),
    );
    if (problems.length > 0) {
      // A checkpoint of the wrong family can miss thousands of tensors; the first ones tell the story.
      const unique = [...new Set(problems)];
      const shown = unique.slice(0, MAX_LISTED_PROBLEMS).join('\n  ');
      const more =
        unique.length > MAX_LISTED_PROBLEMS ? `\n  … and ${unique.length - MAX_LISTED_PROBLEMS} more` : '';
      throw new FusionError(
        'BAD_WEIGHTS',
        `${shownPath(folder)}: ${unique.length} weight problem(s):\n  ${shown}${more}`,
      );
    }
    const precision = options.precision ?? 'auto';
    const provider = await chooseProvider(options.provider ?? 'auto', providerProbeModel());
    await checkMemory(graphs, spec, source, precision, provider.provider, options.availableMemoryBytes);
    const cache = await cachedModel({
      cacheDir: options.cacheDir ?? defaultModelCacheDir(),
      checkpoint: folder,
      precision,
      graphs,
      source,
      entries: store.names().map((n) => store.entry(n)),
      inlineLimitBytes: options.inlineLimitBytes,
      onProgress: (done, total, label) => options.onProgress?.(done, 2 * total, `cached ${label}`),
    });
    const sessions: Session[] = [];
    try {
      // The weights are mapped from the cache, not copied: opening costs little memory per session.
      for (const [index, path] of cache.graphPaths.entries()) {
        options.onProgress?.(graphs.length + index, 2 * graphs.length, graphs[index].label);
        sessions.push(
          await Session.create(path, provider.provider, graphs[index].label, { threads: options.threads }),
        );
      }
    } catch (error) {
      await Promise.all(sessions.map((s) => s.release()));
      throw error;
    }
    options.onProgress?.(2 * graphs.length, 2 * graphs.length, 'ready');
    const [vision, embed, ...rest] = sessions;
    const head = rest.pop() as Session;
    return new LoadedModel(
      folder,
      spec,
      tokenizer,
      imageConfig,
      provider,
      { vision, embed, layers: rest, head },
      eos,
      weightFacts(store),
      precision,
      cache,
      hub,
      schemeResources,
    );
  } finally {
    await store.close();
  }
}

/** Refuses, before anything large is allocated, a model that cannot fit where it would run. */
async function checkMemory(
  graphs: readonly GraphFile[],
  spec: ModelSpec,
  source: WeightSource,
  precision: Precision,
  provider: ProviderChoice['provider'],
  override: number | undefined,
): Promise<void> {
  // Only NVIDIA GPUs report their free memory to us; other providers are checked against RAM.
  const gpu =
    provider === 'cuda' && override === undefined && process.env.FUSIONSCOPE_MEMORY_CHECK !== 'off'
      ? await availableGpuMemory()
      : undefined;
  const available = override ?? gpu ?? (await availableMemory());
  const estimate = (p: Precision) =>
    estimateMemory(
      graphs.map((g) => g.built),
      spec.decoder,
      source,
      p,
    );
  assertFits(estimate, precision, available, {
    provider,
    memory: gpu !== undefined ? 'GPU memory' : 'RAM',
  });
}

function checkImageToken(spec: ModelSpec, tokenizer: Tokenizer): void {
  const id = tokenizer.tokenToId(spec.imagePlaceholder);
  // A prefix family's ids never come from the text; older checkpoints' tokenizers lack the token.
  if (spec.imagePlacement === 'prefix' && id === undefined) return;
  // A config that names no image token (legacy InstructBLIP) gets the query rows concatenated before
  // BOS, whatever the tokenizer holds: transformers 4.44's processor adds "<image>" to every tokenizer
  // it saves, so such a folder may carry the token with nothing that uses it.
  if (spec.imagePlacement === 'prefix' && spec.imageTokenIdIsStandIn) return;
  if (id !== spec.imageTokenId) {
    throw new FusionError(
      'BAD_CONFIG',
      `config.json says the image token id is ${spec.imageTokenId}, but tokenizer.json maps "${spec.imagePlaceholder}" to ${id ?? 'nothing'}`,
    );
  }
}

function weightFacts(store: WeightStore): { dtype: string; parameters: number } {
  const counts = new Map<string, number>();
  let parameters = 0;
  for (const name of store.names()) {
    const entry = store.entry(name);
    const n = entry.shape.reduce((a, b) => a * b, 1);
    parameters += n;
    counts.set(entry.dtype, (counts.get(entry.dtype) ?? 0) + n);
  }
  const dtype = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'unknown';
  return { dtype, parameters };
}
