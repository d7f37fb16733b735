/**
 * Issue 17 item 6, what makes the app behave like a desktop app, in browser mode: it follows the OS
 * into dark mode (page, charts and attention overlays) while an exported figure stays the light
 * publication file, byte for byte; a model folder, a dataset or an image dropped on the window goes
 * where it belongs (a browser gives a page no paths, so files come as bytes or paths as text); and
 * the recent models and datasets are still there after the server restarts, until removed.
 * Window size and position, and paths of dropped files, are the desktop shell's (main/host, unit
 * tested there); this spec needs no Electron.
 */
import { readFile, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium, type Browser, type Locator, type Page } from '@playwright/test';

import { DEMO_DATASET_DIR, DEMO_MODEL_DIR } from '../../main/engine/demo.ts';
import { expect, startServer, test, type AppUnderTest } from '../support/app.ts';
import { saveExport } from '../support/files.ts';
import { CHROMIUM_PATH } from '../support/paths.ts';
import { openView, screenshot } from '../support/views.ts';

test.describe.configure({ mode: 'serial' });

let scratch: string;
/** The demo model and dataset under names of their own: to the app they are the user's. */
let modelLink: string;
let datasetLink: string;

test.beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'fusionscope-e2e-desktop-'));
  modelLink = join(scratch, 'my-llava');
  datasetLink = join(scratch, 'my-vqa');
  await symlink(DEMO_MODEL_DIR, modelLink);
  await symlink(DEMO_DATASET_DIR, datasetLink);
});

test.afterAll(() => rm(scratch, { recursive: true, force: true }));

/** Starts a run of `limit` items from a view's form and waits until no job is left. */
async function runAndWait(page: Page, root: Locator, action: string, limit: number): Promise<void> {
  await root.locator('[data-field=run-limit]').fill(String(limit));
  await root.locator(`[data-action=${action}]`).click();
  await expect(
    page.locator('[data-job][data-job-state=running], [data-job][data-job-state=queued]'),
  ).toHaveCount(0, { timeout: 150_000 });
}

/** The colours a user sees: the page background and an SVG figure's own background and first text. */
async function looks(
  page: Page,
  svg: Locator,
): Promise<{ page: string; figure: string | null; text: string | null }> {
  const figure = await svg.evaluate((root) => ({
    figure: root.querySelector('rect')?.getAttribute('fill') ?? null,
    text: root.querySelector('text')?.getAttribute('fill') ?? null,
  }));
  return { page: await page.evaluate(() => getComputedStyle(document.body).backgroundColor), ...figure };
}

/** Screenshots for the docs, without the toasts earlier steps left (screenshot() may race a new one). */
async function cleanShot(page: Page, name: string): Promise<void> {
  const notices = page.locator('[data-notice] [data-action=dismiss-notice]');
  while ((await notices.count()) > 0)
    await notices
      .first()
      .click({ timeout: 1000 })
      .catch(() => undefined);
  await screenshot(page, name);
}

/** Exports one figure (menu `menu`, choice `kind`) and returns its bytes. */
async function exportFrom(app: AppUnderTest, menu: Locator, kind: string, file: string): Promise<Buffer> {
  const saved = await saveExport(app, file, async () => {
    await menu.locator('[data-action=export]').click();
    await menu.locator(`[data-export=${kind}]`).click();
  });
  return saved.bytes;
}

test('dark mode: the page and the fusion chart follow the OS; the exported chart is the same file', async ({
  app,
}, info) => {
  const { page } = app;
  await page.emulateMedia({ colorScheme: 'light' });
  const root = await openView(page, 'fusion');
  await runAndWait(page, root, 'run-sweep', 4);
  const chart = root.locator('[data-chart=fusion-curve]');
  const svg = chart.locator('svg').first();
  await expect(svg).toBeVisible();
  const light = await looks(page, svg);
  expect(light).toEqual({ page: 'rgb(245, 246, 248)', figure: '#ffffff', text: '#222222' });
  const lightSvg = await exportFrom(app, chart, 'svg', 'desktop-fusion-light.svg');
  const lightPng = await exportFrom(app, chart, 'png-2x', 'desktop-fusion-light.png');

  await page.emulateMedia({ colorScheme: 'dark' });
  await expect
    .poll(() => looks(page, svg))
    .toEqual({ page: 'rgb(21, 24, 30)', figure: '#1b1f27', text: '#e3e6eb' });
  await cleanShot(page, `${info.project.name}-dark-fusion`);
  const darkSvg = await exportFrom(app, chart, 'svg', 'desktop-fusion-dark.svg');
  const darkPng = await exportFrom(app, chart, 'png-2x', 'desktop-fusion-dark.png');
  expect(darkSvg.equals(lightSvg), 'the SVG exported in dark mode differs from the light one').toBe(true);
  expect(darkPng.equals(lightPng), 'the PNG exported in dark mode differs from the light one').toBe(true);
  expect(darkSvg.toString('utf8')).toContain('#ffffff');
  // The export drew the light chart for its copy only: the window is still dark.
  expect((await looks(page, svg)).figure).toBe('#1b1f27');
});

test('dark mode: the attention overlay figure too; its export is the same file', async ({ app }, info) => {
  const { page } = app;
  await page.emulateMedia({ colorScheme: 'light' });
  const root = await openView(page, 'attention');
  await runAndWait(page, root, 'run-evolve', 4);
  const figure = root.locator('svg.overlay-figure').first();
  await expect(figure.locator('svg.attention-overlay').first()).toBeVisible();
  const menu = root.locator('[data-export-for=attention-overlay]');
  expect((await looks(page, figure)).figure).toBe('#ffffff');
  const lightSvg = await exportFrom(app, menu, 'svg', 'desktop-attention-light.svg');

  await page.emulateMedia({ colorScheme: 'dark' });
  await expect.poll(async () => (await looks(page, figure)).figure).toBe('#1b1f27');
  await expect(figure.locator('g.colorbar').first()).toHaveAttribute('fill', '#e3e6eb');
  await cleanShot(page, `${info.project.name}-dark-attention`);
  const darkSvg = await exportFrom(app, menu, 'svg', 'desktop-attention-dark.svg');
  expect(darkSvg.equals(lightSvg), 'the overlay exported in dark mode differs from the light one').toBe(true);
  expect((await looks(page, figure)).figure).toBe('#1b1f27');
  await page.emulateMedia({ colorScheme: 'light' });
});

/** Drops files (name, type, bytes) and/or text on the view's content area, as a file manager would. */
async function drop(
  page: Page,
  what: { files?: { name: string; type: string; base64: string }[]; text?: string },
  events: readonly string[] = ['dragenter', 'dragover', 'drop'],
): Promise<void> {
  await page.evaluate(
    ({ files, text, events }) => {
      const data = new DataTransfer();
      for (const file of files ?? []) {
        const bytes = Uint8Array.from(atob(file.base64), (c) => c.charCodeAt(0));
        data.items.add(new File([bytes], file.name, { type: file.type }));
      }
      if (text !== undefined) data.setData('text/plain', text);
      const target = document.querySelector('main.content') as HTMLElement;
      for (const type of events)
        target.dispatchEvent(new DragEvent(type, { dataTransfer: data, bubbles: true, cancelable: true }));
    },
    { ...what, events },
  );
}

test('drop: an image goes to the Playground, bytes and all', async ({ app }, info) => {
  const { page } = app;
  await openView(page, 'models');
  const image = (await readFile(join(DEMO_DATASET_DIR, 'images', 'test-000001.png'))).toString('base64');
  const files = [{ name: 'dropped-cat.png', type: 'image/png', base64: image }];
  await drop(page, { files }, ['dragenter', 'dragover']);
  await expect(page.locator('[data-drop-overlay]')).toBeVisible();
  await cleanShot(page, `${info.project.name}-drop`);
  await drop(page, { files }, ['drop']);
  await expect(page.locator('[data-drop-overlay]')).toHaveCount(0);
  const playground = page.locator('section[data-view=playground]');
  await expect(playground).toBeVisible();
  await expect(playground.locator('[data-image-name]')).toHaveText('dropped-cat.png');
});

test('drop: a dataset file says how to go on in a browser, which gives no path', async ({ app }) => {
  const { page } = app;
  await openView(page, 'datasets');
  const items = (await readFile(join(DEMO_DATASET_DIR, 'items.jsonl'))).toString('base64');
  await drop(page, { files: [{ name: 'items.jsonl', type: 'application/jsonl', base64: items }] });
  await expect(page.locator('[data-notice]', { hasText: 'dropped file “items.jsonl”' })).toContainText(
    'Type its path',
  );
  await expect(page.locator('[data-drop-overlay]')).toHaveCount(0);
});

test('drop: paths dropped as text open the model and import the dataset the backend finds there', async ({
  app,
}) => {
  const { page } = app;
  await openView(page, 'runs');
  await drop(page, { text: modelLink });
  const models = page.locator('section[data-view=models]');
  const card = models.locator('[data-model-card]', { hasText: 'my-llava' });
  await expect(card).toBeVisible({ timeout: 60_000 });

  await drop(page, { text: `file://${datasetLink}\n` });
  const datasets = page.locator('section[data-view=datasets]');
  await expect(datasets.locator(`[data-dataset-row][data-dataset-id="${datasetLink}"]`)).toBeVisible();

  // Text that is no path is refused with the hint, and nothing happens.
  await drop(page, { text: 'a llava model' });
  await expect(page.locator('[data-notice]', { hasText: 'Drop a model folder' })).toBeVisible();

  // Leave the app as the other stories expect it: the demo model and dataset alone.
  const recentDatasets = datasets.locator('[data-recent-menu=dataset]');
  await recentDatasets.locator('[data-action=recent]').click();
  await recentDatasets
    .locator(`[data-recent-item][data-path="${datasetLink}"] [data-action=forget-recent]`)
    .click();
  await expect(datasets.locator(`[data-dataset-row][data-dataset-id="${datasetLink}"]`)).toHaveCount(0);
  const back = await openView(page, 'models');
  await back.locator('[data-model-card]', { hasText: 'my-llava' }).click();
  await back.locator('[data-action=close-model]').click();
  await expect(back.locator('[data-model-card]', { hasText: 'my-llava' })).toHaveCount(0);
  expect(app.pageErrors).toEqual([]);
});

/** A browser-mode server on `workspace`, its page, and how to stop both. */
async function serve(
  browser: Browser,
  workspace: string,
): Promise<{ page: Page; stop: () => Promise<void> }> {
  const server = await startServer(workspace);
  const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
  await page.goto(server.url);
  return {
    page,
    stop: async () => {
      await page.close();
      const exited = new Promise((resolve) => server.child.once('exit', resolve));
      server.child.kill('SIGTERM');
      await exited;
    },
  };
}

// Playwright requires the fixture's first argument to be an object pattern, even when empty.
// eslint-disable-next-line no-empty-pattern
test('recent: models and datasets opened before are offered after a server restart, until removed', async ({}, info) => {
  test.skip(info.project.name !== 'browser', 'restarts a browser-mode server');
  const workspace = join(scratch, 'restart-workspace');
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
  try {
    const first = await serve(browser, workspace);
    const models = await openView(first.page, 'models');
    await models.locator('[data-field=model-folder]').fill(modelLink);
    await models.locator('[data-action=open-model]').click();
    await expect(models.locator('[data-model-card]', { hasText: 'my-llava' })).toBeVisible({
      timeout: 60_000,
    });
    const datasets = await openView(first.page, 'datasets');
    await datasets.locator('[data-field=dataset-path]').fill(datasetLink);
    await datasets.locator('[data-action=import-dataset]').click();
    await expect(datasets.locator(`[data-dataset-row][data-dataset-id="${datasetLink}"]`)).toBeVisible();
    await first.stop();

    const second = await serve(browser, workspace);
    const fusion = await openView(second.page, 'fusion');
    await expect(fusion.locator('[data-field=model] option', { hasText: 'demo' })).toHaveCount(1, {
      timeout: 60_000,
    });
    // Not open after the restart: offered in the picker below the open models, and in its menu.
    const offered = fusion.locator('[data-field=model] [data-recent-options] option');
    await expect(offered).toHaveText(['my-llava']);
    const menu = fusion.locator('[data-recent-menu=model]');
    await menu.locator('[data-action=recent]').click();
    await expect(menu.locator('[data-recent-item]')).toHaveCount(1);
    await expect(menu.locator('[data-recent-item]')).toContainText(modelLink);
    await cleanShot(second.page, `${info.project.name}-recent-models`);
    await menu.locator('[data-action=recent]').click();
    // Chosen in the picker, it opens and becomes the selected model.
    await fusion.locator('[data-field=model]').selectOption(`recent:${modelLink}`);
    await expect(fusion.locator('[data-field=model]')).toHaveValue(modelLink, { timeout: 60_000 });
    await expect(offered).toHaveCount(0);

    const datasetsAgain = await openView(second.page, 'datasets');
    await expect(datasetsAgain.locator(`[data-dataset-row][data-dataset-id="${datasetLink}"]`)).toBeVisible();
    const datasetMenu = datasetsAgain.locator('[data-recent-menu=dataset]');
    await datasetMenu.locator('[data-action=recent]').click();
    await datasetMenu
      .locator(`[data-recent-item][data-path="${datasetLink}"] [data-action=forget-recent]`)
      .click();
    await expect(datasetsAgain.locator(`[data-dataset-row][data-dataset-id="${datasetLink}"]`)).toHaveCount(
      0,
    );
    await expect(datasetMenu.locator('[data-action=recent]')).toBeDisabled();
    const modelsAgain = await openView(second.page, 'models');
    const modelMenu = modelsAgain.locator('[data-recent-menu=model]');
    await modelMenu.locator('[data-action=recent]').click();
    await modelMenu
      .locator(`[data-recent-item][data-path="${modelLink}"] [data-action=forget-recent]`)
      .click();
    await expect(modelMenu.locator('[data-action=recent]')).toBeDisabled();
    await second.stop();

    // Removed for good: a third start offers nothing.
    const third = await serve(browser, workspace);
    const fusionAgain = await openView(third.page, 'fusion');
    await expect(fusionAgain.locator('[data-field=model] option')).toHaveText([/^demo/], { timeout: 60_000 });
    await expect(fusionAgain.locator('[data-recent-menu=model] [data-action=recent]')).toBeDisabled();
    const datasetsThird = await openView(third.page, 'datasets');
    await expect(datasetsThird.locator('[data-dataset-row]').first()).toBeVisible();
    await expect(datasetsThird.locator(`[data-dataset-row][data-dataset-id="${datasetLink}"]`)).toHaveCount(
      0,
    );
    await expect(datasetsThird.locator('[data-recent-menu=dataset] [data-action=recent]')).toBeDisabled();
    await third.stop();
  } finally {
    await browser.close();
  }
});
