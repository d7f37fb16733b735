/**
 * The only module that touches onnxruntime-node. It creates sessions on the requested execution
 * provider (falling back as `auto` prescribes, recording why) and exchanges plain typed arrays, so the
 * rest of the engine never sees ORT types.
 */
import * as ort from 'onnxruntime-node';

import { missingPrerequisite } from './prerequisites.ts';

import { FusionError } from '../../common/errors.ts';
import { autoCandidates, type ConcreteProvider, type ProviderRequest } from './providers.ts';

// ORT prints provider-library load failures to stderr at error level; `auto` expects them and reports
// the reason itself, so only fatal messages are let through.
ort.env.logLevel = 'fatal';

/** The ONNX Runtime build sessions run on (recorded in every run's provenance). */
export const ONNXRUNTIME_VERSION: string = ort.env.versions.node ?? ort.env.versions.common;

export type TensorData = Float32Array | BigInt64Array;

export interface TensorIn {
  readonly data: TensorData;
  readonly dims: readonly number[];
}

export interface TensorOut {
  readonly data: Float32Array;
  readonly dims: readonly number[];
}

/** Which provider a model runs on, and why others were passed over. */
export interface ProviderChoice {
  readonly provider: ConcreteProvider;
  readonly requested: ProviderRequest;
  readonly fallbackReasons: readonly string[];
}

const ORT_PROVIDER_NAMES: Record<ConcreteProvider, string> = {
  cpu: 'cpu',
  webgpu: 'webgpu',
  cuda: 'cuda',
  dml: 'dml',
  coreml: 'coreml',
};

export class Session {
  private constructor(
    private readonly inner: ort.InferenceSession,
    readonly label: string,
  ) {}

  /** `model` is an .onnx file (its external weights beside it) or, for small probes, the bytes. */
  /** `threads`: ONNX Runtime's intra-op threads (default: one per core). */
  static async create(
    model: string | Uint8Array,
    provider: ConcreteProvider,
    label: string,
    { threads }: { threads?: number } = {},
  ): Promise<Session> {
    try {
      const options: ort.InferenceSession.SessionOptions = {
        executionProviders: [ORT_PROVIDER_NAMES[provider]],
        ...(threads !== undefined ? { intraOpNumThreads: threads } : {}),
        graphOptimizationLevel: 'all',
        logSeverityLevel: 3,
        // Per-session arenas keep their peak forever: with one session per decoder layer that is the
        // widened weights and activations of every layer at once. Freed memory goes back instead.
        enableCpuMemArena: false,
        enableMemPattern: false,
        extra: {
          // Spin-waiting worker threads win a little on an idle machine but lose badly (2–8× measured
          // here) when anything else runs: the UI, a second model, another job. A workbench is never idle.
          session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } },
          // Folding Cast(16-bit weight) would store every weight again in float32 at session creation
          // (and copy it out of the mapped file): the widening must happen per run.
          optimization: { disable_specified_optimizers: 'ConstantFolding' },
        },
      };
      const inner =
        typeof model === 'string'
          ? await ort.InferenceSession.create(model, options)
          : await ort.InferenceSession.create(model, options);
      return new Session(inner, label);
    } catch (error) {
      throw new FusionError(
        'RUNTIME',
        `${label}: ONNX Runtime could not create a ${provider} session: ${firstLine(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  async run(
    feeds: Record<string, TensorIn>,
    outputs?: readonly string[],
  ): Promise<Record<string, TensorOut>> {
    const ortFeeds: Record<string, ort.Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) {
      const type = t.data instanceof BigInt64Array ? 'int64' : 'float32';
      ortFeeds[name] = new ort.Tensor(type, t.data, t.dims);
    }
    let results: ort.InferenceSession.OnnxValueMapType;
    try {
      results = outputs ? await this.inner.run(ortFeeds, [...outputs]) : await this.inner.run(ortFeeds);
    } catch (error) {
      throw new FusionError('RUNTIME', `${this.label}: ONNX Runtime run failed: ${firstLine(error)}`, {
        cause: error,
      });
    }
    const out: Record<string, TensorOut> = {};
    for (const [name, value] of Object.entries(results)) {
      const tensor = value as ort.Tensor;
      out[name] = { data: tensor.data as Float32Array, dims: tensor.dims };
    }
    return out;
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

/**
 * Picks the provider for a model: an explicit request must work (or fail loudly); `auto` probes the
 * platform's GPU providers with a trivial model and falls back to CPU, recording each reason.
 */
export async function chooseProvider(requested: ProviderRequest, probe: Uint8Array): Promise<ProviderChoice> {
  const candidates = requested === 'auto' ? autoCandidates(process.platform) : [requested];
  const reasons: string[] = [];
  for (const candidate of candidates) {
    if (candidate === 'cpu') return { provider: 'cpu', requested, fallbackReasons: reasons };
    const missing = missingPrerequisite(candidate);
    if (missing && requested === 'auto') {
      // Probing anyway would only make the native library print its own failure to stderr.
      reasons.push(`${candidate}: ${missing}`);
      continue;
    }
    try {
      const session = await Session.create(probe, candidate, `${candidate} probe`);
      await session.release();
      return { provider: candidate, requested, fallbackReasons: reasons };
    } catch (error) {
      if (requested !== 'auto') {
        throw new FusionError(
          'RUNTIME',
          `execution provider "${candidate}" is not available: ${(error as Error).message}`,
        );
      }
      reasons.push(`${candidate}: ${(error as Error).message}`);
    }
  }
  return { provider: 'cpu', requested, fallbackReasons: reasons };
}

function firstLine(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0].slice(0, 500);
}
