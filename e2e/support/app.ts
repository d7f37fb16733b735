/**
 * The app under test, once per Playwright worker: in the `browser` project a browser-mode server
 * (`main/web/serve.ts`, fresh workspace) opened in Debian's Chromium; in the `electron` project the
 * desktop app through Playwright's Electron support — skipped, with the reason, when no Electron
 * binary is installed. Specs only see a `page` showing the app and the folders of more models.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { test as base, _electron, chromium, type ElectronApplication, type Page } from '@playwright/test';

import { makeControlModel } from './makeControlModel.ts';
import { makeFamilyModels, type FamilyModels } from './familyModels.ts';
import { CHROMIUM_PATH, REPO_ROOT } from './paths.ts';

const SERVER_URL = /(http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+)/;
const HOST_ENTRY = join(REPO_ROOT, 'out', 'host', 'main.js');

export interface AppUnderTest {
  readonly page: Page;
  readonly mode: 'browser' | 'electron';
  /** A second model folder (the demo's weights shuffled) for the compare story. */
  readonly controlModel: string;
  /** Tiny random checkpoints of the paper's other families, by model_type (familyModels.ts). */
  readonly familyModels: FamilyModels;
  readonly workspace: string;
  /** Console errors and uncaught exceptions the page reported so far. */
  readonly pageErrors: string[];
  /** The desktop app, in the electron project (to answer its native dialogs). */
  readonly electronApp?: ElectronApplication;
}

/** The Electron binary's path, or why there is none. */
export function electronBinary(): { path: string } | { missing: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown as string;
    if (typeof path === 'string' && existsSync(path)) return { path };
    return { missing: `the Electron binary is not installed (${path}); run \`npm run fetch-electron\`` };
  } catch {
    // The electron package throws when its binary was never downloaded (allowScripts denies it here).
    return { missing: 'the Electron binary is not installed (`npm run fetch-electron` downloads it)' };
  }
}

function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`uncaught: ${error.message}`));
  return errors;
}

export function startServer(workspace: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'main/web/serve.ts', '--port', '0', '--workspace', workspace],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = SERVER_URL.exec(output);
      if (match) resolve({ child, url: match[1] });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`serve.ts exited (${code}) before printing its URL:\n${output}`)),
    );
    setTimeout(() => reject(new Error(`serve.ts printed no URL within 120 s:\n${output}`)), 120_000);
  });
}

/** In a worker: the app, or why this project cannot run here (reported per test as a skip). */
type WorkerApp = AppUnderTest | { readonly skipped: string };

export const test = base.extend<{ app: AppUnderTest }, { workerApp: WorkerApp }>({
  app: async ({ workerApp }, use, testInfo) => {
    if ('skipped' in workerApp) testInfo.skip(true, workerApp.skipped);
    else await use(workerApp);
  },
  workerApp: [
    // Playwright requires the fixture's first argument to be an object pattern, even when empty.
    // eslint-disable-next-line no-empty-pattern
    async ({}, use, workerInfo) => {
      const mode = workerInfo.project.metadata.mode as 'browser' | 'electron';
      const electron = mode === 'electron' ? electronBinary() : undefined;
      if (electron && ('missing' in electron || !existsSync(HOST_ENTRY))) {
        const why = 'missing' in electron ? electron.missing : `${HOST_ENTRY} is not built (npm run build)`;
        // Said once per run, not only per test in the report.
        console.log(`Electron specs skipped: ${why}`);
        await use({ skipped: `Electron specs skipped: ${why}` });
        return;
      }
      const scratch = await mkdtemp(join(tmpdir(), 'fusionscope-e2e-'));
      const workspace = join(scratch, 'workspace');
      const controlModel = join(scratch, 'control-model');
      const [familyModels] = await Promise.all([makeFamilyModels(scratch), makeControlModel(controlModel)]);
      try {
        if (electron && 'path' in electron) {
          const app = await _electron.launch({
            executablePath: electron.path,
            args: [HOST_ENTRY],
            env: { ...process.env, FUSIONSCOPE_WORKSPACE: workspace },
          });
          try {
            const page = await app.firstWindow();
            await use({
              page,
              mode,
              controlModel,
              familyModels,
              workspace,
              electronApp: app,
              pageErrors: watchErrors(page),
            });
          } finally {
            await app.close();
          }
          return;
        }
        const server = await startServer(workspace);
        const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
        try {
          const context = await browser.newContext({
            viewport: { width: 1440, height: 900 },
            acceptDownloads: true,
          });
          const page = await context.newPage();
          const pageErrors = watchErrors(page);
          await page.goto(server.url);
          await use({ page, mode, controlModel, familyModels, workspace, pageErrors });
        } finally {
          await browser.close();
          server.child.kill('SIGTERM');
        }
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    },
    { scope: 'worker', timeout: 180_000 },
  ],
});

export { expect } from '@playwright/test';
