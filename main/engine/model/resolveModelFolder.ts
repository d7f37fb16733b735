/**
 * What a model argument names (`--model`, the app's openModel, a run's recorded folder), resolved to
 * the checkpoint folder that holds config.json. Every entry goes through here, Node fs only (the
 * backend's main thread resolves model ids without loading ONNX Runtime):
 *
 *   a path that exists ─┬─ …/models--org--name/snapshots/<commit>  → that snapshot (revision checked)
 *                       ├─ …/models--org--name                     → refs/<revision> → its snapshot
 *                       └─ any other folder (or one with model/)   → itself (checkpointFolder.ts)
 *   nothing there, and an `org/name` hub id → <hub cache>/models--org--name → refs/<revision> → snapshot
 *
 * A path wins over a hub id of the same spelling, as transformers' from_pretrained decides. Nothing is
 * downloaded. When nothing resolves, one error lists every place looked at and why it failed. A folder
 * whose weights are PyTorch pickles or GGUF, not safetensors, is refused naming the format and the way
 * to convert it.
 */
import { lstat, readdir, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';

import { quoted, shownPath } from '../../../native-models/files/messageText.ts';
import { FusionError } from '../../common/errors.ts';
import { readOptionalJsonFile } from '../files/jsonFile.ts';
import { checkpointFolder } from './checkpointFolder.ts';
import {
  DEFAULT_REVISION,
  hubCacheDir,
  isRepoId,
  repoFolderName,
  repoIdOfFolder,
  resolveRevision,
  revisionOfSnapshot,
  snapshotOf,
  type Attempt,
  type Env,
  type HubSnapshot,
} from './resolveHubCache.ts';

export interface ResolvedModel {
  /** The checkpoint folder (absolute): for the hub cache, the snapshot folder. */
  readonly folder: string;
  /** The hub repo, revision and commit when the folder is a cache snapshot; null for a plain folder. */
  readonly hub: HubSnapshot | null;
}

export interface ResolveModelOptions {
  /** A branch, tag or full commit hash (default: main); only for a hub id or a cache folder. */
  readonly revision?: string;
  /** The environment the hub cache folder is read from (default: process.env). */
  readonly env?: Env;
  /** What relative paths are relative to (default: process.cwd()). */
  readonly cwd?: string;
}

export async function resolveModelFolder(
  requested: string,
  options: ResolveModelOptions = {},
): Promise<ResolvedModel> {
  const cwd = options.cwd ?? process.cwd();
  const path = resolve(cwd, requested);
  const attempts: Attempt[] = [];
  const info = await stat(path).catch((error: NodeJS.ErrnoException) => error);
  let resolved: ResolvedModel | null = null;
  if (!(info instanceof Error)) {
    if (!info.isDirectory()) {
      if (GGUF.test(path)) throw ggufError(dirname(path), [basename(path)]);
      throw new FusionError(
        'MISSING_FILE',
        `${shownPath(path)} is not a folder; a model is a folder holding config.json and its weights (*.safetensors)`,
      );
    }
    resolved = await resolveExistingFolder(path, options.revision, attempts);
  } else {
    const link = await lstat(path).then(
      (s) => s.isSymbolicLink(),
      () => false,
    );
    attempts.push({ place: shownPath(path), why: link ? 'a broken symbolic link' : describeStatError(info) });
    if (isRepoId(requested)) {
      const cache = hubCacheDir(options.env ?? process.env, cwd);
      const repoFolder = resolve(cache.dir, repoFolderName(requested));
      if ((await stat(repoFolder).catch(() => null))?.isDirectory()) {
        resolved = await resolveRevision(
          repoFolder,
          requested,
          options.revision ?? DEFAULT_REVISION,
          attempts,
        );
      } else {
        attempts.push({
          place: shownPath(repoFolder),
          why: `not in the Hugging Face cache (${shownPath(cache.dir)}, from ${cache.from})`,
        });
      }
    } else {
      attempts.push({
        place: 'the Hugging Face cache',
        why: `${quoted(requested)} is no hub id (expected org/name: letters, digits, "-", "_", ".")`,
      });
    }
  }
  if (resolved === null) throw notFound(requested, attempts);
  await refuseUnsupportedWeights(resolved.folder);
  return resolved;
}

async function resolveExistingFolder(
  path: string,
  revision: string | undefined,
  attempts: Attempt[],
): Promise<ResolvedModel | null> {
  const snapshot = snapshotOf(path);
  if (snapshot) {
    const { repoId, commit } = snapshot;
    return { folder: path, hub: { repoId, revision: await revisionOfSnapshot(snapshot, revision), commit } };
  }
  const repoId = repoIdOfFolder(basename(path));
  const looksLikeRepo = async (sub: string) =>
    (await stat(resolve(path, sub)).catch(() => null))?.isDirectory() ?? false;
  if (repoId !== null && ((await looksLikeRepo('snapshots')) || (await looksLikeRepo('refs')))) {
    return resolveRevision(path, repoId, revision ?? DEFAULT_REVISION, attempts);
  }
  if (revision !== undefined) {
    throw new FusionError(
      'BAD_ARGUMENT',
      `revision ${quoted(revision)} applies to a hub id (org/name) or a Hugging Face cache folder (models--org--name); ${shownPath(path)} is a plain folder`,
    );
  }
  return { folder: await checkpointFolder(path), hub: null };
}

function describeStatError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT':
      return 'no such file or folder';
    case 'ENOTDIR':
      return 'no such folder (a folder on its path is a file)';
    case 'ELOOP':
      return 'a symbolic link loop';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read (permission denied)';
    default:
      return `cannot be read (${error.code ?? error.message})`;
  }
}

function notFound(requested: string, attempts: readonly Attempt[]): FusionError {
  const looked = attempts.map((a, i) => `  ${i + 1}. ${a.place}: ${a.why}`).join('\n');
  const hint = isRepoId(requested)
    ? `\nNothing is downloaded: fetch it first (\`hf download ${requested}\`, or \`huggingface-cli download ${requested}\` with huggingface_hub before 0.34), or point HF_HUB_CACHE at the cache that holds it.`
    : '';
  return new FusionError('MISSING_FILE', `no model ${quoted(requested)}; looked at:\n${looked}${hint}`);
}

/** Weight files FusionScope reads (safetensors) and the formats it names when it finds only others. */
const SAFETENSORS = /\.safetensors$/i;
const PICKLE = /\.(bin|pt|pth)$|\.bin\.index\.json$/i;
const GGUF = /\.gguf$/i;

/**
 * A folder without safetensors but with PyTorch pickles (the original LLaVA releases) or GGUF files
 * (llama.cpp exports) is refused here, by format; anything else missing is openModel's to report.
 */
async function refuseUnsupportedWeights(folder: string): Promise<void> {
  const names = await readdir(folder).catch(() => [] as string[]);
  if (names.some((name) => SAFETENSORS.test(name) || name === 'model.safetensors.index.json')) return;
  const gguf = names.filter((name) => GGUF.test(name));
  if (gguf.length > 0) throw ggufError(folder, gguf);
  const pickles = names.filter((name) => PICKLE.test(name));
  if (pickles.length > 0) throw await pickleError(folder, pickles);
}

function listed(names: readonly string[]): string {
  const shown = names.slice(0, 3).map((name) => quoted(name));
  return names.length > 3 ? `${shown.join(', ')} … (${names.length} files)` : shown.join(', ');
}

/** A path as a Python string literal in a suggested command; a placeholder when quoting would be needed. */
function pythonPath(path: string, placeholder: string): string {
  return /^[\w./ :~+-]+$/.test(path) ? `'${path}'` : `'${placeholder}'`;
}

function ggufError(folder: string, files: readonly string[]): FusionError {
  const file = pythonPath(files[0], 'MODEL.gguf');
  return new FusionError(
    'UNSUPPORTED_MODEL',
    `${shownPath(folder)} holds GGUF weights (${listed(files)}), a quantised llama.cpp export: FusionScope reads Hugging Face checkpoints (config.json + *.safetensors). ` +
      'Open the original checkpoint the GGUF was made from (e.g. `hf download llava-hf/llava-1.5-7b-hf`); ' +
      'transformers can dequantise the GGUF of a text-only model it supports, with a quantisation error the original has not: ' +
      `python -c "from transformers import AutoModelForCausalLM as M; M.from_pretrained(${pythonPath(folder, 'DIR')}, gguf_file=${file}).save_pretrained(${pythonPath(`${folder}-safetensors`, 'OUT')}, safe_serialization=True)"`,
  );
}

/** Original LLaVA releases (liuhaotian/llava-v1.5-*) are LLaVA's own format, not a transformers model. */
async function isOriginalLlava(folder: string): Promise<boolean> {
  const config = await readOptionalJsonFile(resolve(folder, 'config.json')).catch(() => undefined);
  const architectures = (config as { architectures?: unknown } | undefined)?.architectures;
  return Array.isArray(architectures) && architectures.includes('LlavaLlamaForCausalLM');
}

async function pickleError(folder: string, files: readonly string[]): Promise<FusionError> {
  const where = `${shownPath(folder)} holds PyTorch pickle weights (${listed(files)}), not safetensors, which FusionScope reads (pickles can run code when loaded). `;
  if (await isOriginalLlava(folder)) {
    return new FusionError(
      'UNSUPPORTED_MODEL',
      `${where}This is an original LLaVA release (LlavaLlamaForCausalLM), which transformers does not load: ` +
        'open its transformers conversion instead, which is safetensors already (e.g. `hf download llava-hf/llava-1.5-7b-hf` for liuhaotian/llava-v1.5-7b), ' +
        "or convert it with transformers' models/llava/convert_llava_weights_to_hf.py.",
    );
  }
  return new FusionError(
    'UNSUPPORTED_MODEL',
    `${where}Convert it once with transformers (it writes the processor's files too): ` +
      `python -c "import transformers as t; d, o = ${pythonPath(folder, 'DIR')}, ${pythonPath(`${folder}-safetensors`, 'OUT')}; t.AutoModelForImageTextToText.from_pretrained(d).save_pretrained(o, safe_serialization=True); t.AutoProcessor.from_pretrained(d).save_pretrained(o)"`,
  );
}
