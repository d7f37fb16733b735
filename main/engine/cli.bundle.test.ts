/**
 * The command line as scripts/build-cli.mjs bundles it (what `npx fusionscope` runs after `npm ci`),
 * built into a folder of its own under out/ and run end to end in child processes: --help, the demo,
 * a sweep on the demo model and its report. Where the sources locate files from import.meta.url (the
 * demo model, the checkout for provenance, the fonts package) the bundle must find the same ones, and
 * its output must be the sources' own.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildCli, cliExternals, ROOT } from '../../scripts/build-cli.mjs';
import { BUNDLE_NAME, bundleManifest, freshBundle, MANIFEST_NAME } from '../../scripts/build-cli-fresh.mjs';
import { runCli } from './cli.testing.ts';
import { DEMO_MODEL_DIR } from './demo.ts';
import { Workspace } from './store/workspace.ts';

// Inside the repository, so the external packages resolve from its node_modules as out/cli's do.
const OUTDIR = join(ROOT, 'out', `cli-test-${process.pid}`);
let built: Awaited<ReturnType<typeof buildCli>>;
let scratch: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fusionscope-bundle-'));
  built = await buildCli({ outdir: OUTDIR });
});

afterAll(async () => {
  await rm(OUTDIR, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

/** Runs the bundle's main as bin/fusionscope.mjs does, in a child process. */
async function runBundle(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const runner =
    'const { main } = await import(process.argv[1]); process.exitCode = await main(process.argv.slice(2));';
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', runner, pathToFileURL(built.bundle).href, ...args],
      { cwd: scratch, maxBuffer: 64 * 2 ** 20 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('the bundle', () => {
  it('imports only Node built-ins and the external packages at run time', async () => {
    const code = await readFile(built.bundle, 'utf8');
    const builtins = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);
    const imported = new Set(
      [...code.matchAll(/^import\s[^;]*?from\s*"([^"]+)";$|\b(?:import|__require)\("([^"]+)"\)/gm)].map(
        (m) => m[1] ?? m[2],
      ),
    );
    const foreign = [...imported].filter(
      (name) =>
        !builtins.has(name) && !built.external.some((ext) => name === ext || name.startsWith(`${ext}/`)),
    );
    expect(foreign).toEqual([]);
    expect(imported).toContain('onnxruntime-node');
    // Every import.meta.url left is the bundle's own: the banner's, or one naming an inlined file.
    const uses = [...code.matchAll(/(.{0,80})import\.meta\.url/g)].map((m) => m[1]);
    expect(uses.length).toBeGreaterThan(1);
    for (const before of uses) expect(before).toMatch(/new URL\("[^"]+\.[cm]?[jt]s", $|CreateRequire\($/);
  });

  it('lists what it was built from, and runs while none of that has changed', async () => {
    expect(built.inputs).toContain('main/engine/cli.ts');
    expect(built.inputs).toContain('package-lock.json');
    expect(built.inputs.filter((input) => input.startsWith('node_modules/'))).toEqual([
      'node_modules/.package-lock.json',
    ]);
    const manifest = JSON.parse(await readFile(join(OUTDIR, MANIFEST_NAME), 'utf8'));
    expect(Object.keys(manifest.inputs)).toEqual([...built.inputs].sort());
  });

  it('prints --help', async () => {
    const help = await runBundle(['--help']);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toBe((await runCli(['--help'])).stdout);
  });

  it('runs the demo on the demo model as the sources do', async () => {
    const args = ['demo', '--count', '2', '--provider', 'cpu', '--model-cache', join(scratch, 'models')];
    const fromBundle = await runBundle(args);
    expect(fromBundle.code).toBe(0);
    expect(fromBundle.stdout).toContain('2/2 answered correctly.');
    expect(fromBundle.stdout).toBe((await runCli(args)).stdout);
  });

  it('sweeps the demo model and writes its report, recording the checkout and the model folder', async () => {
    const workspace = join(scratch, 'workspace');
    const common = ['--workspace', workspace, '--provider', 'cpu', '--model-cache', join(scratch, 'models')];
    const sweep = await runBundle(['sweep', '--limit', '2', ...common]);
    expect(sweep.stderr).not.toMatch(/error \[/);
    expect(sweep.code).toBe(0);
    const report = await runBundle(['report', '--out', join(scratch, 'report'), ...common]);
    expect(report.code).toBe(0);
    // PNG figures are drawn by resvg with the fonts package's files, both found from the bundle.
    const png = await readFile(join(scratch, 'report', 'fusion-curve.png'));
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    const store = Workspace.openForReading(workspace);
    try {
      const [run] = store.listRuns();
      expect(run).toMatchObject({ kind: 'sweep', status: 'done', total: 2 });
      expect(run.model.folder).toBe(DEMO_MODEL_DIR);
      const head = await promisify(execFile)('git', ['rev-parse', 'HEAD'], { cwd: ROOT }).then(
        ({ stdout }) => stdout.trim(),
        () => null,
      );
      expect(run.provenance?.commit).toBe(head);
    } finally {
      store.close();
    }
  });
});

describe('freshness (scripts/build-cli-fresh.mjs)', () => {
  it('a bundle is stale once an input changes, appears or goes, or the bundle itself changes', async () => {
    const root = join(scratch, 'fresh-root');
    const outdir = join(root, 'out', 'cli');
    await mkdir(outdir, { recursive: true });
    await writeFile(join(root, 'a.ts'), 'export const a = 1;');
    await writeFile(join(outdir, BUNDLE_NAME), '// bundle');
    const write = async () =>
      writeFile(
        join(outdir, MANIFEST_NAME),
        JSON.stringify(bundleManifest(outdir, ['a.ts', 'later.ts'], root)),
      );
    await write();
    expect(freshBundle(outdir, root)).toBe(join(outdir, BUNDLE_NAME));
    await utimes(join(root, 'a.ts'), new Date(), new Date(Date.now() + 5000));
    expect(freshBundle(outdir, root)).toBeNull();
    await write();
    await writeFile(join(root, 'later.ts'), '');
    expect(freshBundle(outdir, root)).toBeNull();
    await rm(join(root, 'later.ts'));
    expect(freshBundle(outdir, root)).toBe(join(outdir, BUNDLE_NAME));
    await writeFile(join(outdir, BUNDLE_NAME), '// another bundle');
    expect(freshBundle(outdir, root)).toBeNull();
    await rm(join(outdir, MANIFEST_NAME));
    expect(freshBundle(outdir, root)).toBeNull();
  });

  it('packages with native code stay external, whichever way they bring it', async () => {
    const root = join(scratch, 'natives');
    const pkg = async (name: string, json: object, files: Record<string, string> = {}) => {
      const dir = join(root, 'node_modules', name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, 'package.json'), JSON.stringify({ name, ...json }));
      for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    };
    await pkg('compiled', {}, { 'binding.gyp': '{}' });
    await pkg('prebuilt', { scripts: { install: 'prebuild-install' } });
    await pkg('per-platform', { optionalDependencies: { 'per-platform-linux-x64': '1.0.0' } });
    await pkg('per-platform-linux-x64', { os: ['linux'], cpu: ['x64'] });
    await pkg('pure', { scripts: { test: 'x' } });
    await writeFile(
      join(root, 'package.json'),
      JSON.stringify({ dependencies: { compiled: '1', prebuilt: '1', 'per-platform': '1', pure: '1' } }),
    );
    const externals = await cliExternals(root);
    expect(externals).toEqual(
      expect.arrayContaining(['compiled', 'prebuilt', 'per-platform', 'onnxruntime-node']),
    );
    expect(externals).not.toContain('pure');
  });
});
