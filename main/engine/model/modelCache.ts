/**
 * The on-disk model cache: each checkpoint's graphs built once (modelFiles.ts) into a folder keyed
 * by what they are made of, so reopening a model only creates sessions over mapped files.
 *
 *   <cache>/<key>/manifest.json   written last: an entry without it was never finished
 *   <cache>/<key>/*.onnx          one per graph
 *   <cache>/<key>/weights.bin     every weight once, in its storage precision
 *
 * The key hashes the graphs' structure (so any change to how FusionScope builds them is a new key),
 * each weight's name, dtype, shape, storage precision and place in its file, and every weight file's
 * size and sampled bytes. An entry is trusted only while its manifest, file sizes and graph hashes
 * hold; otherwise it is rebuilt. Building happens in a private folder renamed into place, so two
 * processes opening the same model never see each other's half-written files.
 */
import { createHash } from 'node:crypto';
import {
  mkdir,
  mkdtemp,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  statfs,
  writeFile,
} from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';

import type { BuiltGraph } from '../../../native-models/onnx/builder.ts';
import { OPSET_VERSION, type WeightSource } from '../../../native-models/onnx/materialize.ts';
import {
  MODEL_FILES_VERSION,
  WEIGHTS_FILE,
  writeModelFiles,
  type GraphFile,
} from '../../../native-models/onnx/modelFiles.ts';
import { storageFor, storedWeightBytes, type Precision } from '../../../native-models/onnx/storage.ts';
import type { TensorEntry } from '../../../native-models/safetensors/read.ts';
import { FusionError } from '../../common/errors.ts';

/** Bumped when the cache layout (not the graphs, which the key covers) changes. */
const CACHE_FORMAT = 1;
const MANIFEST = 'manifest.json';
/** Sampled blocks per weight file for the key: catches rewritten weights without reading GBs. */
const SAMPLES_PER_FILE = 16;
const SAMPLE_BYTES = 64 * 1024;

export interface CacheManifest {
  readonly format: number;
  readonly key: string;
  /** The checkpoint folder it was built from (informational: the key, not the path, identifies it). */
  readonly checkpoint: string;
  readonly precision: Precision;
  readonly createdAt: string;
  readonly graphs: readonly { file: string; label: string; bytes: number; sha256: string }[];
  /** Size of weights.bin, and what its tensors take without alignment padding. */
  readonly weightBytes: number;
  readonly storedBytes: number;
}

export interface CachedModel {
  readonly dir: string;
  readonly manifest: CacheManifest;
  /** True when this open built the entry (a cold open). */
  readonly built: boolean;
  /** Why an existing entry was not used, when it was rebuilt. */
  readonly rebuiltBecause?: string;
  /** Path of each graph's model file, in the order given. */
  readonly graphPaths: readonly string[];
}

/** Where the cache lives: FUSIONSCOPE_MODEL_CACHE, else the platform's cache folder. */
export function defaultModelCacheDir(): string {
  const override = process.env.FUSIONSCOPE_MODEL_CACHE;
  if (override) return override;
  if (process.platform === 'win32') {
    return join(process.env.LOCALAPPDATA ?? join(homedir(), 'AppData', 'Local'), 'FusionScope', 'models');
  }
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'FusionScope', 'models');
  return join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'fusionscope', 'models');
}

export interface CacheRequest {
  readonly cacheDir: string;
  readonly checkpoint: string;
  readonly precision: Precision;
  readonly graphs: readonly GraphFile[];
  readonly source: WeightSource;
  /** Every tensor of the checkpoint (for its files' sizes and sampled bytes). */
  readonly entries: readonly TensorEntry[];
  readonly inlineLimitBytes?: number;
  readonly onProgress?: (done: number, total: number, label: string) => void;
}

/** The cached files of `request`'s graphs, built now when no valid entry exists. */
export async function cachedModel(request: CacheRequest): Promise<CachedModel> {
  const key = await cacheKey(request);
  const dir = join(request.cacheDir, key);
  const graphPaths = request.graphs.map((g) => join(dir, `${g.file}.onnx`));
  const existing = await validEntry(dir, key);
  if (existing.manifest) return { dir, manifest: existing.manifest, built: false, graphPaths };
  await mkdir(request.cacheDir, { recursive: true });
  await assertDiskSpace(request);
  const partial = await mkdtemp(join(request.cacheDir, `${key}.partial-${process.pid}-`));
  try {
    const written = await writeModelFiles(partial, request.graphs, request.source, {
      precision: request.precision,
      inlineLimitBytes: request.inlineLimitBytes,
      onGraph: request.onProgress,
    });
    const manifest: CacheManifest = {
      format: CACHE_FORMAT,
      key,
      checkpoint: request.checkpoint,
      precision: request.precision,
      createdAt: new Date().toISOString(),
      graphs: await Promise.all(
        request.graphs.map(async ({ file, label }) => {
          const bytes = await readFile(join(partial, `${file}.onnx`));
          return { file, label, bytes: bytes.length, sha256: sha256(bytes) };
        }),
      ),
      weightBytes: written.weightBytes,
      storedBytes: Object.values(written.storedBytes).reduce((a, b) => a + b, 0),
    };
    await writeFile(join(partial, MANIFEST), JSON.stringify(manifest, null, 1));
    // Moved aside, not deleted in place: another process may be renaming its own rebuild in, or (on
    // Windows) still have the old files mapped.
    if (existing.problem) await moveAside(dir);
    try {
      await rename(partial, dir);
    } catch (error) {
      // Another process finished the same entry first: use theirs if it is whole.
      const theirs = await validEntry(dir, key);
      if (!theirs.manifest) throw error;
      await rm(partial, { recursive: true, force: true });
      return { dir, manifest: theirs.manifest, built: false, graphPaths };
    }
    return { dir, manifest, built: true, rebuiltBecause: existing.problem, graphPaths };
  } catch (error) {
    await rm(partial, { recursive: true, force: true });
    throw error;
  }
}

async function moveAside(dir: string): Promise<void> {
  const stale = `${dir}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(dir, stale);
  } catch {
    return; // gone already, or another process moved it first
  }
  await rm(stale, { recursive: true, force: true }).catch(() => undefined);
}

async function cacheKey(request: CacheRequest): Promise<string> {
  const hash = createHash('sha256');
  hash.update(
    `fusionscope-model-cache ${CACHE_FORMAT} files ${MODEL_FILES_VERSION} opset ${OPSET_VERSION}\n`,
  );
  hash.update(`inline ${request.inlineLimitBytes ?? 'default'}\n`);
  for (const { file, label, built } of request.graphs) {
    hash.update(`graph ${file} ${label}\n`);
    hash.update(graphDigest(built));
  }
  const byName = new Map(request.entries.map((e) => [e.name, e]));
  const read = [...new Set(request.graphs.flatMap((g) => g.built.weights.map((w) => w.source)))].sort();
  for (const name of read) {
    const entry = byName.get(name);
    const storage = storageFor(request.precision, entry?.dtype ?? 'F32');
    hash.update(
      `weight ${name} ${entry?.dtype} [${entry?.shape.join(',')}] ${storage} ${entry?.file.split(/[/\\]/).pop()}@${entry?.byteOffset}\n`,
    );
  }
  for (const file of [...new Set(request.entries.map((e) => e.file))].sort()) {
    hash.update(await fileFingerprint(file));
  }
  // 32 hex digits: unique enough, and short enough for Windows' path limits.
  return hash.digest('hex').slice(0, 32);
}

function graphDigest(built: BuiltGraph): string {
  const constants = built.constants.map((c) => ({ ...c, raw: sha256(c.raw) }));
  return sha256(Buffer.from(JSON.stringify({ graph: built.graph, constants, weights: built.weights })));
}

/**
 * A weight file's size, modification time and a hash of evenly spread blocks of it: a file rewritten
 * in place (one retrained tensor) changes its mtime even where the samples miss the change.
 */
async function fileFingerprint(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    const { size } = await handle.stat();
    const hash = createHash('sha256');
    const block = Buffer.alloc(SAMPLE_BYTES);
    const stride = Math.max(SAMPLE_BYTES, Math.floor(size / SAMPLES_PER_FILE));
    for (let at = 0; at < size; at += stride) {
      const { bytesRead } = await handle.read(block, 0, SAMPLE_BYTES, at);
      hash.update(block.subarray(0, bytesRead));
    }
    // The last bytes too: a file rewritten past its last sample must not keep its key.
    const tail = Math.max(0, size - SAMPLE_BYTES);
    const { bytesRead } = await handle.read(block, 0, SAMPLE_BYTES, tail);
    hash.update(block.subarray(0, bytesRead));
    return `file ${size} ${Math.trunc((await handle.stat()).mtimeMs)} ${hash.digest('hex')}\n`;
  } finally {
    await handle.close();
  }
}

/** The entry's manifest when every file it lists is whole, else why not. */
async function validEntry(dir: string, key: string): Promise<{ manifest?: CacheManifest; problem?: string }> {
  let manifest: CacheManifest;
  try {
    manifest = JSON.parse(await readFile(join(dir, MANIFEST), 'utf8')) as CacheManifest;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing && !(await exists(dir))) return {};
    return { problem: missing ? 'its manifest is missing' : 'its manifest is unreadable' };
  }
  if (manifest.format !== CACHE_FORMAT || manifest.key !== key || !Array.isArray(manifest.graphs)) {
    return { problem: 'its manifest is from another cache format' };
  }
  const weights = await sizeOf(join(dir, WEIGHTS_FILE));
  if (weights !== manifest.weightBytes) {
    return { problem: `${WEIGHTS_FILE} is ${weights ?? 'missing'} bytes, expected ${manifest.weightBytes}` };
  }
  for (const graph of manifest.graphs) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, `${graph.file}.onnx`));
    } catch {
      return { problem: `${graph.file}.onnx is missing` };
    }
    if (bytes.length !== graph.bytes || sha256(bytes) !== graph.sha256) {
      return { problem: `${graph.file}.onnx does not match its manifest` };
    }
  }
  return { manifest };
}

/** Refuses to start a build the disk cannot hold (a half-built 13 GB entry helps nobody). */
async function assertDiskSpace(request: CacheRequest): Promise<void> {
  const byName = new Map(request.entries.map((e) => [e.name, e]));
  const needed = storedWeightBytes(
    request.graphs.flatMap((g) => g.built.weights),
    (name) => byName.get(name)?.dtype,
    request.precision,
  );
  const fs = await statfs(request.cacheDir).catch(() => undefined);
  if (!fs) return;
  const available = fs.bavail * fs.bsize;
  if (needed > available) {
    throw new FusionError(
      'INSUFFICIENT_RESOURCES',
      `building this model's cache needs ${gib(needed)} on disk, but ${request.cacheDir} has ${gib(available)} free; ` +
        `free some space (fusionscope cache clear) or point FUSIONSCOPE_MODEL_CACHE / --model-cache elsewhere`,
    );
  }
}

export interface CacheListing {
  readonly dir: string;
  readonly key: string;
  readonly bytes: number;
  readonly manifest?: CacheManifest;
  /** Set when the entry is unfinished or damaged (it will be rebuilt, or can be cleared). */
  readonly problem?: string;
}

/** Every entry of a cache folder with its size on disk. */
export async function listModelCache(cacheDir: string): Promise<CacheListing[]> {
  let names: string[];
  try {
    names = await readdir(cacheDir);
  } catch {
    return [];
  }
  const listings: CacheListing[] = [];
  for (const name of names.sort()) {
    const dir = join(cacheDir, name);
    // An entry may vanish while it is listed (another process clearing or finishing it).
    if (!(await stat(dir).catch(() => undefined))?.isDirectory()) continue;
    const key = name.split(/\.(partial|stale)-/)[0];
    const { manifest, problem } = /\.(partial|stale)-/.test(name)
      ? { manifest: undefined, problem: 'an unfinished build' }
      : await validEntry(dir, key);
    listings.push({ dir, key: name, bytes: await folderBytes(dir), manifest, problem });
  }
  return listings;
}

/** Removes every entry (or those whose key starts with `prefix`); returns what was removed. */
export async function clearModelCache(cacheDir: string, prefix?: string): Promise<CacheListing[]> {
  if (prefix === '') {
    throw new FusionError('BAD_ARGUMENT', 'cache clear: --key is empty (leave it out to clear every entry)');
  }
  const removed = (await listModelCache(cacheDir)).filter((e) => !prefix || e.key.startsWith(prefix));
  for (const entry of removed) await rm(entry.dir, { recursive: true, force: true });
  return removed;
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await sizeOf(join(dir, name))) ?? 0;
  return total;
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch {
    return undefined;
  }
}

async function exists(path: string): Promise<boolean> {
  return (await sizeOf(path)) !== undefined;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function gib(bytes: number): string {
  return `${(bytes / 2 ** 30).toFixed(bytes < 2 ** 30 ? 2 : 1)} GiB`;
}
