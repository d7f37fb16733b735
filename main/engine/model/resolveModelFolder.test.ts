/**
 * Model arguments resolved through a fake Hugging Face hub cache (real blobs, refs and relative
 * symbolic links, two revisions of a tiny random LLaVA), as huggingface_hub lays it out.
 */
import { lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

import { writeTinyLlava } from '../../../native-models/testing/tinyLlava.ts';
import { runCli } from '../cli.testing.ts';
import { DEMO_DATASET_DIR } from '../demo.ts';
import { modelFingerprint } from '../store/fingerprint.ts';
import { Workspace } from '../store/workspace.ts';
import { modelContentHash } from './contentHash.ts';
import { hubCacheDir, isRepoId } from './resolveHubCache.ts';
import { resolveModelFolder } from './resolveModelFolder.ts';
import { fakeCommit, writeFakeHubRepo, type FakeSnapshot } from './resolveModelFolder.testing.ts';

const REPO = 'tiny-org/tiny-llava';
const posix = process.platform !== 'win32';

let root: string;
let cache: string;
let repoFolder: string;
let main: FakeSnapshot;
let v1: FakeSnapshot;
let sourceMain: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'fusionscope-hub-'));
  sourceMain = join(root, 'source-main');
  const sourceV1 = join(root, 'source-v1');
  await writeTinyLlava(sourceMain, { seed: 3, dtype: 'F32', layout: 'legacy' });
  await writeTinyLlava(sourceV1, { seed: 4, dtype: 'F32', layout: 'legacy' });
  cache = join(root, 'hub');
  const repo = await writeFakeHubRepo(cache, REPO, { main: sourceMain, v1: sourceV1 });
  ({ repoFolder } = repo);
  ({ main, v1 } = repo.snapshots);
});

afterAll(() => rm(root, { recursive: true, force: true }));

const env = () => ({ HF_HUB_CACHE: cache });

describe('the fake cache is what huggingface_hub writes', () => {
  it('snapshot files are relative links into blobs/, and the two revisions differ', async () => {
    expect((await lstat(join(main.folder, 'config.json'))).isSymbolicLink()).toBe(true);
    expect(main.commit).not.toBe(v1.commit);
    expect(main.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(await readFile(join(repoFolder, 'refs', 'v1'), 'utf8')).toBe(v1.commit);
  });
});

describe('resolveModelFolder', () => {
  it('a hub id resolves to the snapshot refs/main names', async () => {
    expect(await resolveModelFolder(REPO, { env: env() })).toEqual({
      folder: main.folder,
      hub: { repoId: REPO, revision: 'main', commit: main.commit },
    });
  });

  it('a models--org--name folder resolves the same way, without the cache setting', async () => {
    expect(await resolveModelFolder(repoFolder, { env: {} })).toEqual({
      folder: main.folder,
      hub: { repoId: REPO, revision: 'main', commit: main.commit },
    });
  });

  it('a branch or tag is read from refs/, a full commit names its snapshot directly', async () => {
    const byTag = await resolveModelFolder(REPO, { env: env(), revision: 'v1' });
    expect(byTag).toEqual({ folder: v1.folder, hub: { repoId: REPO, revision: 'v1', commit: v1.commit } });
    const byFolder = await resolveModelFolder(repoFolder, { revision: 'v1' });
    expect(byFolder.folder).toBe(v1.folder);
    const byHash = await resolveModelFolder(REPO, { env: env(), revision: v1.commit });
    expect(byHash).toEqual({
      folder: v1.folder,
      hub: { repoId: REPO, revision: v1.commit, commit: v1.commit },
    });
  });

  it('a snapshot named directly records the ref naming it, and a revision must agree with it', async () => {
    expect((await resolveModelFolder(main.folder)).hub).toEqual({
      repoId: REPO,
      revision: 'main',
      commit: main.commit,
    });
    expect((await resolveModelFolder(v1.folder)).hub?.revision).toBe('v1');
    expect((await resolveModelFolder(v1.folder, { revision: 'v1' })).folder).toBe(v1.folder);
    await expect(resolveModelFolder(v1.folder, { revision: 'main' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining(
        `revision "main" is not the snapshot ${v1.folder} (it names commit ${main.commit})`,
      ),
    });
  });

  it('a plain folder resolves to itself, and refuses a revision', async () => {
    expect(await resolveModelFolder(sourceMain)).toEqual({ folder: sourceMain, hub: null });
    await expect(resolveModelFolder(sourceMain, { revision: 'v1' })).rejects.toMatchObject({
      code: 'BAD_ARGUMENT',
      message: expect.stringContaining('is a plain folder'),
    });
  });

  it('a path wins over a hub id spelled the same (as from_pretrained decides)', async () => {
    const cwd = join(root, 'cwd');
    await mkdir(join(cwd, 'tiny-org'), { recursive: true });
    await symlink(sourceMain, join(cwd, REPO));
    expect(await resolveModelFolder(REPO, { env: env(), cwd })).toEqual({
      folder: join(cwd, REPO),
      hub: null,
    });
  });

  it('files behind the snapshot links read as the files themselves (hash, fingerprint)', async () => {
    // Content hashes cover path, size and bytes: a snapshot of the same files hashes the same.
    const hashes = join(root, 'hashes');
    expect(await modelContentHash(main.folder, hashes)).toBe(await modelContentHash(sourceMain, hashes));
    expect(await modelContentHash(v1.folder, hashes)).not.toBe(await modelContentHash(main.folder, hashes));
    await expect(modelFingerprint(main.folder)).resolves.toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('when nothing resolves, the error lists every place looked at', () => {
  it('an id in no cache: the path tried and the cache folder, with the setting that chose it', async () => {
    const cwd = join(root, 'elsewhere');
    const error = await resolveModelFolder('nobody/nothing', { env: env(), cwd }).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'MISSING_FILE' });
    expect((error as Error).message).toBe(
      [
        'no model "nobody/nothing"; looked at:',
        `  1. ${join(cwd, 'nobody', 'nothing')}: no such file or folder`,
        `  2. ${join(cache, 'models--nobody--nothing')}: not in the Hugging Face cache (${cache}, from HF_HUB_CACHE)`,
        'Nothing is downloaded: fetch it first (`hf download nobody/nothing`, or `huggingface-cli download nobody/nothing` with huggingface_hub before 0.34), or point HF_HUB_CACHE at the cache that holds it.',
      ].join('\n'),
    );
  });

  it('a revision with no ref names the refs cached', async () => {
    await expect(resolveModelFolder(REPO, { env: env(), revision: 'v2' })).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining(
        `2. ${join(repoFolder, 'refs', 'v2')}: no such ref (revisions cached: main, v1)`,
      ),
    });
  });

  it('a short commit is refused, naming the snapshot it would have matched', async () => {
    const error = await resolveModelFolder(REPO, { env: env(), revision: v1.commit.slice(0, 8) }).catch(
      (e: Error) => e,
    );
    expect((error as Error).message).toContain(
      `a commit must be given in full (40 hex digits): ${v1.commit}`,
    );
  });

  it('a ref naming a snapshot that was never downloaded says so', async () => {
    const gone = fakeCommit(REPO, 'gone');
    await writeFile(join(repoFolder, 'refs', 'gone'), gone);
    try {
      await expect(resolveModelFolder(REPO, { env: env(), revision: 'gone' })).rejects.toMatchObject({
        code: 'MISSING_FILE',
        message: expect.stringContaining(
          `${join(repoFolder, 'snapshots', gone)}: no snapshot of commit ${gone} (which refs/gone names); snapshots cached: ${[main.commit, v1.commit].sort().join(', ')}`,
        ),
      });
    } finally {
      await rm(join(repoFolder, 'refs', 'gone'));
    }
  });

  it('a text that is neither a path nor a hub id says why the cache was not asked', async () => {
    await expect(resolveModelFolder('no such/folder here', { env: env(), cwd: root })).rejects.toMatchObject({
      code: 'MISSING_FILE',
      message: expect.stringContaining('2. the Hugging Face cache: "no such/folder here" is no hub id'),
    });
  });

  it('a revision that could leave refs/ is refused before any file is read', async () => {
    for (const revision of ['../../x', '/etc/passwd', 'a//b', 'a\\b']) {
      await expect(resolveModelFolder(REPO, { env: env(), revision })).rejects.toMatchObject({
        code: 'BAD_ARGUMENT',
      });
    }
  });
});

describe('the cache folder, as huggingface_hub/constants.py chooses it', () => {
  const HOME = '/home/ada';
  // [expected folder, the setting named as its source, the environment]
  it.each([
    ['/home/ada/.cache/huggingface/hub', 'the default', { HOME }],
    ['/xdg/huggingface/hub', 'XDG_CACHE_HOME', { HOME, XDG_CACHE_HOME: '/xdg' }],
    ['/hf/hub', 'HF_HOME', { HOME, XDG_CACHE_HOME: '/xdg', HF_HOME: '/hf' }],
    ['/legacy', 'HUGGINGFACE_HUB_CACHE', { HOME, HF_HOME: '/hf', HUGGINGFACE_HUB_CACHE: '/legacy' }],
    [
      '/new',
      'HF_HUB_CACHE',
      { HOME, HF_HOME: '/hf', HUGGINGFACE_HUB_CACHE: '/legacy', HF_HUB_CACHE: '/new' },
    ],
    ['/home/ada/hf/hub', 'HF_HOME', { HOME, HF_HOME: '~/hf' }],
    ['/mnt/d/hub', 'HF_HUB_CACHE', { HOME, DISK: '/mnt/d', HF_HUB_CACHE: '$DISK/hub' }],
    // An unset variable stays as written, and a relative result is relative to the working folder.
    ['/cwd/${DISK}/hub', 'HF_HUB_CACHE', { HOME, HF_HUB_CACHE: '${DISK}/hub' }],
  ])('%s (from %s)', (dir, from, environment) => {
    const chosen = hubCacheDir(environment, '/cwd');
    expect(chosen.dir).toBe(dir);
    expect(chosen.from.startsWith(from)).toBe(true);
  });

  it('HF_HOME and XDG_CACHE_HOME are where a hub id is looked up when HF_HUB_CACHE is unset', async () => {
    const hfHome = join(root, 'hf-home');
    const xdg = join(root, 'xdg');
    await writeFakeHubRepo(join(hfHome, 'hub'), 'org/home', { main: sourceMain });
    await writeFakeHubRepo(join(xdg, 'huggingface', 'hub'), 'org/xdg', { main: sourceMain });
    const viaHome = await resolveModelFolder('org/home', { env: { HF_HOME: hfHome, XDG_CACHE_HOME: xdg } });
    expect(viaHome.folder).toBe(
      join(hfHome, 'hub', 'models--org--home', 'snapshots', fakeCommit('org/home', 'main')),
    );
    const viaXdg = await resolveModelFolder('org/xdg', { env: { XDG_CACHE_HOME: xdg } });
    expect(viaXdg.hub).toMatchObject({ repoId: 'org/xdg', revision: 'main' });
    // With HF_HOME set, the XDG cache is not consulted.
    await expect(
      resolveModelFolder('org/xdg', { env: { HF_HOME: hfHome, XDG_CACHE_HOME: xdg } }),
    ).rejects.toMatchObject({
      message: expect.stringContaining(`from HF_HOME`),
    });
  });

  it('hub ids are what the hub accepts', () => {
    for (const id of ['llava-hf/llava-1.5-7b-hf', 'gpt2', 'Qwen/Qwen2-VL-2B-Instruct', 'a_b/c.d'])
      expect(isRepoId(id), id).toBe(true);
    for (const id of ['a/b/c', '../x', 'a--b/c', 'a/.x', 'a/x.', 'a b/c', '', 'a/b.git', './x'])
      expect(isRepoId(id), id).toBe(false);
  });
});

describe('weights FusionScope cannot read are refused by format, with the way to convert them', () => {
  async function folderWith(name: string, files: Record<string, string>): Promise<string> {
    const folder = join(root, name);
    await mkdir(folder, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(folder, file), text);
    return folder;
  }

  it('PyTorch pickles (transformers layout): the save_pretrained one-liner', async () => {
    const folder = await folderWith('bin-only', {
      'config.json': JSON.stringify({
        model_type: 'llava',
        architectures: ['LlavaForConditionalGeneration'],
      }),
      'pytorch_model-00001-of-00002.bin': 'x',
      'pytorch_model-00002-of-00002.bin': 'x',
      'pytorch_model.bin.index.json': '{}',
    });
    const error = await resolveModelFolder(folder).catch((e: Error) => e);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MODEL' });
    expect((error as Error).message).toContain(
      `${folder} holds PyTorch pickle weights ("pytorch_model-00001-of-00002.bin"`,
    );
    expect((error as Error).message).toContain(
      `python -c "import transformers as t; d, o = '${folder}', '${folder}-safetensors'; t.AutoModelForImageTextToText.from_pretrained(d).save_pretrained(o, safe_serialization=True); t.AutoProcessor.from_pretrained(d).save_pretrained(o)"`,
    );
  });

  it('an original LLaVA release: its transformers conversion', async () => {
    const folder = await folderWith('llava-original', {
      'config.json': JSON.stringify({ model_type: 'llava', architectures: ['LlavaLlamaForCausalLM'] }),
      'pytorch_model.bin': 'x',
    });
    await expect(resolveModelFolder(folder)).rejects.toMatchObject({
      code: 'UNSUPPORTED_MODEL',
      message: expect.stringMatching(/original LLaVA release.*llava-hf\/llava-1\.5-7b-hf/),
    });
  });

  it('GGUF, as a folder or as the file itself: a llama.cpp export, and the original checkpoint', async () => {
    const folder = await folderWith('gguf', {
      'llava-v1.5-7b-Q4_K_M.gguf': 'GGUF',
      'mmproj-model-f16.gguf': 'GGUF',
    });
    for (const requested of [folder, join(folder, 'llava-v1.5-7b-Q4_K_M.gguf')]) {
      const error = await resolveModelFolder(requested).catch((e: Error) => e);
      expect(error).toMatchObject({ code: 'UNSUPPORTED_MODEL' });
      expect((error as Error).message).toMatch(/holds GGUF weights .*a quantised llama\.cpp export/);
      expect((error as Error).message).toContain('Open the original checkpoint');
      expect((error as Error).message).toContain("gguf_file='llava-v1.5-7b-Q4_K_M.gguf'");
    }
  });

  it('safetensors beside a pickle are read, the pickle ignored (control)', async () => {
    const folder = await folderWith('both', { 'model.safetensors': 'x', 'pytorch_model.bin': 'x' });
    expect(await resolveModelFolder(folder)).toEqual({ folder, hub: null });
  });
});

describe.runIf(posix)('the CLI opens a model by hub id', () => {
  it('--model org/name with HF_HUB_CACHE set; --revision picks the other snapshot', async () => {
    vi.stubEnv('HF_HUB_CACHE', cache);
    try {
      const modelCache = join(root, 'model-cache');
      const byId = await runCli(['info', '--model', REPO, '--model-cache', modelCache, '--provider', 'cpu']);
      expect(byId.stderr).toBe('');
      expect(byId.code).toBe(0);
      const info = JSON.parse(byId.stdout);
      expect(info).toMatchObject({
        folder: main.folder,
        hub: { repoId: REPO, revision: 'main', commit: main.commit },
        modelType: 'llava',
      });
      const byTag = await runCli([
        'info',
        '--model',
        REPO,
        '--revision',
        'v1',
        '--model-cache',
        modelCache,
        '--provider',
        'cpu',
      ]);
      expect(JSON.parse(byTag.stdout).hub).toEqual({ repoId: REPO, revision: 'v1', commit: v1.commit });
      const missing = await runCli(['info', '--model', 'nobody/nothing', '--model-cache', modelCache]);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain('error [MISSING_FILE]: no model "nobody/nothing"; looked at:');
      expect(missing.stderr).toContain(
        `${resolve(cache, 'models--nobody--nothing')}: not in the Hugging Face cache`,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('a run on a hub id records the snapshot folder, repo, revision and commit', async () => {
    vi.stubEnv('HF_HUB_CACHE', cache);
    try {
      const workspace = join(root, 'workspace');
      const sweep = await runCli([
        'sweep',
        ...['--model', REPO, '--revision', 'v1', '--dataset', DEMO_DATASET_DIR, '--limit', '1'],
        ...['--workspace', workspace, '--model-cache', join(root, 'model-cache'), '--provider', 'cpu'],
      ]);
      expect(sweep.stderr).not.toMatch(/error \[/);
      const store = Workspace.openForReading(workspace);
      try {
        const [run] = store.listRuns();
        expect(run.model.folder).toBe(v1.folder);
        expect(run.model.info).toMatchObject({ hub: { repoId: REPO, revision: 'v1', commit: v1.commit } });
        expect(run.provenance?.modelRevision).toBe(v1.commit);
      } finally {
        store.close();
      }
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
