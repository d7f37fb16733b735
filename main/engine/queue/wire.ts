/**
 * What travels through the queue, both ways, and the schemas each side checks it with on receipt. A job
 * is a sample's specification: the analysis's name and parsed settings, the model named by content hash
 * (never by path: each worker opens its own copy), and the item with its image's bytes (so workers need
 * no access to the dataset, and no file path leaves the coordinator). A reply is the sample's outcome
 * as the run store records it. Neither carries code: the analysis runs from the worker's own registry.
 */
import { basename } from 'node:path';
import { readFile } from 'node:fs/promises';

import { z } from 'zod';

import { FusionError } from '../../common/errors.ts';
import { RUN_KIND_PATTERN, type ArrayOutput, type LayerMetricValue } from '../../common/runs.ts';
import { PRECISIONS } from '../../../native-models/onnx/storage.ts';
import type { DatasetItem } from '../datasets/types.ts';
import type { SampleInput } from '../store/sampleRows.ts';

export const WIRE_VERSION = 1;
/** A job's image (as base64) may not exceed this many characters (about 48 MiB of file). */
export const MAX_IMAGE_BASE64 = 64 * 1024 * 1024;
/** A reply's arrays together (as base64) may not exceed this many characters. */
export const MAX_ARRAYS_BASE64 = 256 * 1024 * 1024;
/** Donor images and the like sent along with one item. */
export const MAX_COMPANIONS = 64;

const text = (max: number) => z.string().max(max);
const finite = z.number().finite();
const json = z.unknown().refine((value) => {
  try {
    return JSON.stringify(value) !== undefined;
  } catch {
    return false;
  }
}, 'not JSON');

const wireItemSchema = z.strictObject({
  id: text(1000).min(1),
  question: text(100_000),
  answers: z.array(text(10_000)).max(1000),
  family: text(1000),
  subtype: text(1000).nullable(),
  boxes: z.array(z.tuple([finite, finite, finite, finite])).max(10_000),
  metric: z.enum(['vqa', 'exact', 'pope', 'anls', 'choice', 'none']),
  answerType: text(1000).optional(),
  questionType: text(1000).optional(),
  annotatorAnswers: z.array(text(10_000)).max(1000).optional(),
  meta: z.record(z.string().max(200), json).optional(),
  choices: z
    .array(z.strictObject({ label: text(100), text: text(10_000) }))
    .max(100)
    .optional(),
  circular: z
    .strictObject({
      group: text(1000),
      rotation: z.number().int().min(0),
      rotations: z.number().int().min(1),
    })
    .optional(),
  image: z.strictObject({
    /** The file's name only (its extension helps decoders), never its folder. */
    name: z
      .string()
      .min(1)
      .max(255)
      .refine((name) => !/[/\\]/.test(name) && name !== '.' && name !== '..', 'a file name, not a path'),
    base64: z.string().max(MAX_IMAGE_BASE64),
  }),
});
export type WireItem = z.infer<typeof wireItemSchema>;

export const sampleJobSchema = z.strictObject({
  version: z.literal(WIRE_VERSION),
  /** The run's key (stable across coordinator restarts) and its id in the coordinator's workspace. */
  run: z.strictObject({ key: z.string().regex(/^[0-9a-f]{16,64}$/), id: z.number().int().min(1) }),
  kind: z.string().regex(RUN_KIND_PATTERN),
  /** The analysis's settings, parsed and resolved by the coordinator; parsed again by the worker. */
  config: z.record(z.string().max(64), json),
  model: z.strictObject({
    name: text(255),
    contentHash: z.string().regex(/^[0-9a-f]{64}$/),
    precision: z.enum(PRECISIONS),
  }),
  position: z.number().int().min(0),
  item: wireItemSchema,
  companions: z.array(wireItemSchema).max(MAX_COMPANIONS),
});
export type SampleJob = z.infer<typeof sampleJobSchema>;

export const workerFactsSchema = z.strictObject({
  id: text(200),
  host: text(255),
  pid: z.number().int(),
  provider: text(100),
  /** The accelerator's name where known (e.g. "NVIDIA H100 80GB HBM3"), else null. */
  card: text(255).nullable(),
});
export type WorkerFacts = z.infer<typeof workerFactsSchema>;

const metricSchema = z.strictObject({
  layer: z.number().int().min(0),
  name: text(200).min(1),
  /** JSON has no NaN: null stands for it, as the store reads SQL NULL back as NaN. */
  value: finite.nullable(),
});

const arraySchema = z.strictObject({
  name: text(200).min(1),
  shape: z.array(z.number().int().min(0)).max(8),
  /** float32, little-endian. */
  base64: z.string(),
});

export const sampleReplySchema = z
  .strictObject({
    version: z.literal(WIRE_VERSION),
    itemId: text(1000).min(1),
    status: z.enum(['ok', 'error']),
    result: json.optional(),
    error: text(10_000).optional(),
    metrics: z.array(metricSchema).max(1_000_000),
    arrays: z.array(arraySchema).max(1000),
    durationMs: finite.min(0),
    worker: workerFactsSchema,
  })
  .superRefine((reply, context) => {
    const total = reply.arrays.reduce((n, a) => n + a.base64.length, 0);
    if (total > MAX_ARRAYS_BASE64)
      context.addIssue({ code: 'custom', message: `arrays exceed ${MAX_ARRAYS_BASE64} characters` });
    if (reply.status === 'error' && reply.error === undefined)
      context.addIssue({ code: 'custom', message: 'an error reply needs its error' });
  });
export type SampleReply = z.infer<typeof sampleReplySchema>;

/** The issues of a failed parse, short enough for a log line or a failed job's reason. */
export function issuesText(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || 'message'}: ${issue.message}`)
    .join('; ');
}

/** An item as it travels: every field but its path, and its image's bytes. */
export async function itemToWire(item: DatasetItem): Promise<WireItem> {
  const { imagePath, ...fields } = item;
  let bytes: Buffer;
  try {
    bytes = await readFile(imagePath);
  } catch (error) {
    throw new FusionError('BAD_IMAGE', `item '${item.id}': cannot read its image ${basename(imagePath)}`, {
      cause: error,
    });
  }
  const base64 = bytes.toString('base64');
  if (base64.length > MAX_IMAGE_BASE64) {
    throw new FusionError(
      'IMAGE_TOO_LARGE',
      `item '${item.id}': its image is too large to queue (${bytes.length} bytes)`,
    );
  }
  return {
    ...(JSON.parse(JSON.stringify(fields)) as Omit<WireItem, 'image'>),
    image: { name: basename(imagePath), base64 },
  };
}

/** An item received, its image written to `imagePath` by the caller. */
export function itemFromWire(wire: WireItem, imagePath: string): DatasetItem {
  const { image: _image, ...fields } = wire;
  return { ...fields, imagePath } as DatasetItem;
}

function encodeArray(array: ArrayOutput): z.infer<typeof arraySchema> {
  const { buffer, byteOffset, byteLength } = array.data;
  return {
    name: array.name,
    shape: [...array.shape],
    base64: Buffer.from(buffer, byteOffset, byteLength).toString('base64'),
  };
}

function decodeArray(wire: z.infer<typeof arraySchema>, itemId: string): ArrayOutput {
  const bytes = Buffer.from(wire.base64, 'base64');
  const count = wire.shape.reduce((n, d) => n * d, 1);
  if (bytes.length !== count * 4) {
    throw new FusionError(
      'QUEUE',
      `item '${itemId}': array '${wire.name}' holds ${bytes.length} bytes, but shape [${wire.shape.join(', ')}] needs ${count * 4}`,
    );
  }
  const data = new Float32Array(count);
  new Uint8Array(data.buffer).set(bytes);
  return { name: wire.name, shape: wire.shape, data };
}

/** A computed sample as its reply. */
export function replyOf(
  sample: {
    itemId: string;
    status: 'ok' | 'error';
    result?: unknown;
    error?: string;
    metrics?: readonly LayerMetricValue[];
    arrays?: readonly ArrayOutput[];
  },
  durationMs: number,
  worker: WorkerFacts,
): SampleReply {
  return {
    version: WIRE_VERSION,
    itemId: sample.itemId,
    status: sample.status,
    ...(sample.status === 'ok'
      ? { result: sample.result ?? null }
      : { error: sample.error ?? 'unknown error' }),
    metrics: (sample.metrics ?? []).map((m) => ({
      layer: m.layer,
      name: m.name,
      value: Number.isNaN(m.value) ? null : m.value,
    })),
    arrays: (sample.arrays ?? []).map(encodeArray),
    durationMs,
    worker,
  };
}

/**
 * A reply received, checked as the API checks its messages, as the sample the store records. A reply
 * that fails its schema, or answers for another item, throws QUEUE naming what is wrong.
 */
export function sampleOfReply(raw: unknown, expected: { itemId: string; position: number }): SampleInput {
  const parsed = sampleReplySchema.safeParse(raw);
  if (!parsed.success)
    throw new FusionError(
      'QUEUE',
      `a worker's reply for item '${expected.itemId}' is malformed: ${issuesText(parsed.error)}`,
    );
  const reply = parsed.data;
  if (reply.itemId !== expected.itemId) {
    throw new FusionError(
      'QUEUE',
      `a worker replied for item '${reply.itemId}' to the job of item '${expected.itemId}'`,
    );
  }
  const common = { itemId: reply.itemId, position: expected.position, durationMs: reply.durationMs };
  if (reply.status === 'error') return { ...common, status: 'error', error: reply.error };
  return {
    ...common,
    status: 'ok',
    result: reply.result,
    metrics: reply.metrics.map((m) => ({ layer: m.layer, name: m.name, value: m.value ?? Number.NaN })),
    arrays: reply.arrays.map((a) => decodeArray(a, reply.itemId)),
  };
}
