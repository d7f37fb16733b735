/**
 * How many models `fusionscope analyze --model A,B` runs at once, each in a process of its own
 * (cli/analyzeInChildren.ts). On the CPU one model's main job keeps about 1.35 of two cores busy
 * (its layer calls are small; the rest is the engine's own single-threaded work), so a second model
 * beside it turns idle cores into throughput. On a GPU the models would share one device and its
 * memory, so they run one at a time; on the CPU as many as there are cores and as the memory holds.
 */
import { readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';

import { providerProbeModel } from '../../../native-models/onnx/probe.ts';
import { availableMemory } from '../model/memoryBudget.ts';
import { chooseProvider } from '../runtime/session.ts';
import { positiveInt, providerFlag, type Flags } from './flags.ts';

/** Per model beside its weights: the runtime, activations and the engine's tables (measured: < 0.4 GiB on the demo models). */
const WORKING_BYTES = 0.75 * 2 ** 30;
/**
 * Stored weights are mapped once, and a 16-bit one is widened to float32 only while it is used; with
 * `--precision fp32` every 16-bit weight is stored widened, twice its size on disk.
 */
const weightFactor = (precision: string | undefined) => (precision === 'fp32' ? 2 : 1.25);

export interface JobsInputs {
  readonly models: number;
  readonly cpus: number;
  /** Whether the models would run on the CPU (what `--provider` resolves to). */
  readonly onCpu: boolean;
  /** The largest model's weight files, bytes. */
  readonly largestWeightBytes: number;
  /** `--precision`, if given. */
  readonly precision?: string;
  readonly availableBytes: number;
}

/** The rule, apart from the machine it asks (tests give it machines). */
export function jobsFor(inputs: JobsInputs): number {
  if (!inputs.onCpu) return 1;
  const perModel = inputs.largestWeightBytes * weightFactor(inputs.precision) + WORKING_BYTES;
  const fit = Math.floor(inputs.availableBytes / perModel);
  return Math.max(1, Math.min(inputs.models, inputs.cpus, fit));
}

/**
 * Bytes of a checkpoint folder's weight files, the shards included: its safetensors, or where it has
 * none its PyTorch .bin files (a checkpoint shipping both is read from the safetensors).
 */
export async function weightFileBytes(folder: string): Promise<number> {
  const names = await readdir(folder);
  const safetensors = names.filter((n) => n.endsWith('.safetensors'));
  const weights = safetensors.length > 0 ? safetensors : names.filter((n) => n.endsWith('.bin'));
  const sizes = await Promise.all(weights.map(async (n) => (await stat(join(folder, n))).size));
  return sizes.reduce((a, b) => a + b, 0);
}

/** How many of `folders` (resolved checkpoint folders) `analyze` runs at once on this machine. */
export async function analyzeJobs(flags: Flags, folders: readonly string[]): Promise<number> {
  if (flags.jobs !== undefined) return Math.min(positiveInt(flags.jobs, 'jobs'), folders.length);
  if (folders.length < 2) return 1;
  const choice = await chooseProvider(providerFlag(flags), providerProbeModel());
  const sizes = await Promise.all(folders.map(weightFileBytes));
  return jobsFor({
    models: folders.length,
    cpus: availableParallelism(),
    onCpu: choice.provider === 'cpu',
    largestWeightBytes: Math.max(...sizes),
    precision: flags.precision,
    availableBytes: await availableMemory(),
  });
}
