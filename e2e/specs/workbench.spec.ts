/**
 * The researcher's path through the workbench on the embedded demo model, in order: see the model,
 * browse the data, run a masking sweep and read the fusion curve, scrub the attention evolution, run
 * contrastive attention, compare with a second model, look at the run history, export figures. Each
 * view is screenshotted into e2e/artifacts/screenshots/.
 */
import type { Page } from '@playwright/test';

import { expect, test } from '../support/app.ts';
import { parseSvg, pdfFacts, pngSize, saveExport } from '../support/files.ts';
import { openView, screenshot } from '../support/views.ts';

test.describe.configure({ mode: 'serial' });

/** Starts a run from a view's form and waits until its job has finished. */
async function runAndWait(page: Page, root: ReturnType<Page['locator']>, action: string, limit: number) {
  const limitField = root.locator('[data-field=run-limit]');
  if (await limitField.count()) await limitField.fill(String(limit));
  await root.locator(`[data-action=${action}]`).click();
  await expect(
    page.locator('[data-job][data-job-state=running], [data-job][data-job-state=queued]'),
  ).toHaveCount(0, {
    timeout: 150_000,
  });
}

test('models: the demo model is loaded and described', async ({ app }, info) => {
  const root = await openView(app.page, 'models');
  const demo = root.locator('[data-model-card]').first();
  await expect(demo).toBeVisible();
  await demo.click();
  const details = root.locator('[data-model-details]');
  await expect(details).toContainText('llava');
  await expect(details).toContainText('12'); // decoder layers
  await expect(details).toContainText(/cpu/i); // execution provider
  // The demo's F32 weights kept as they are, held once (a few MiB, never the float32 copy of a 16-bit one).
  await expect(details.locator('[data-fact="precision"]')).toHaveText('auto');
  await expect(details.locator('[data-fact="memory"]')).toHaveText(/^1\d\.\d MiB$/);
  await screenshot(app.page, `${info.project.name}-models`);
});

test('datasets: the demo test split is imported and browsable with boxes', async ({ app }, info) => {
  const root = await openView(app.page, 'datasets');
  await expect(root.locator('[data-dataset-row]').first()).toBeVisible();
  await root.locator('[data-dataset-row]').first().click();
  const items = root.locator('[data-item]');
  await expect(items.first()).toBeVisible();
  expect(await items.count()).toBeGreaterThan(4);
  await expect(items.first().locator('img')).toHaveJSProperty('complete', true);
  await expect(root.locator('[data-item] rect').first()).toBeAttached();
  await screenshot(app.page, `${info.project.name}-datasets`);
});

test('fusion: a masking sweep draws the curve with fusion and review layers', async ({ app }, info) => {
  const root = await openView(app.page, 'fusion');
  // 40 items: hidden mode's layers are labelled by their marginal drop, which needs more questions than
  // the cumulative drop did to clear its 95% interval on the demo model.
  await runAndWait(app.page, root, 'run-sweep', 40);
  const chart = root.locator('[data-chart=fusion-curve]');
  await expect(chart.locator('svg').first()).toBeVisible();
  await expect(root.locator('[data-fusion-layers]')).toContainText(/\d/);
  await expect(root.locator('[data-review-layers]')).toBeVisible();
  // Clicking a layer lists what each sample answered with that layer masked.
  const layerButton = root.locator('[data-layer-button]').first();
  if (await layerButton.count()) await layerButton.click();
  else await chart.locator('svg path').nth(5).click({ force: true });
  await expect(root.locator('[data-table=layer-samples] tbody tr').first()).toBeVisible();
  await screenshot(app.page, `${info.project.name}-fusion`);
});

test('attention: the overlay follows the layer slider, the head and play', async ({ app }, info) => {
  const root = await openView(app.page, 'attention');
  await runAndWait(app.page, root, 'run-evolve', 12);
  const overlay = root.locator('[data-panel=attention-overlay]');
  await expect(overlay).toBeVisible();
  const slider = root.locator('[data-field=layer]');
  await slider.fill('0');
  await expect(overlay).toHaveAttribute('data-layer', '0');
  const first = await overlay.innerHTML();
  await slider.fill('11');
  await expect(overlay).toHaveAttribute('data-layer', '11');
  expect(await overlay.innerHTML()).not.toBe(first);
  await root.locator('[data-field=head]').selectOption({ index: 1 });
  await root.locator('[data-action=play]').click();
  await expect(overlay).not.toHaveAttribute('data-layer', '11');
  await root.locator('[data-action=play]').click();
  await expect(root.locator('[data-chart=evolution] svg').first()).toBeVisible();
  await screenshot(app.page, `${info.project.name}-attention`);

  const pdf = await saveExport(app, 'attention.pdf', async () => {
    const menu = root.locator('[data-export-for=attention-overlay]');
    await menu.locator('[data-action=export]').click();
    await menu.locator('[data-export=pdf]').click();
  });
  expect(pdfFacts(pdf.bytes)).toEqual({ header: '%PDF-', pages: 1 });
});

test('contrastive: pre, final and contrastive maps with baseline and refined answers', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'contrastive');
  await runAndWait(app.page, root, 'run-contrast', 12);
  for (const panel of ['pre', 'final', 'ca'])
    await expect(root.locator(`[data-panel=${panel}]`)).toBeVisible();
  await expect(root.locator('[data-answers]')).toBeVisible();
  const methods = root.locator('[data-table=contrast-methods] tbody tr');
  // The demo's sweep finds no review layer, so mask does not apply and says why (never a no-op result).
  await expect(methods).toHaveCount(3); // no refinement, crop, ViCrop
  await expect(root.locator('[data-not-applicable]')).toContainText('no review layer');
  await expect(methods.last().locator('[data-p]')).toHaveText(/^\d(\.\d+)?(e-\d+)?$/); // McNemar p
  await expect(root.locator('[data-table=contrast-samples] tbody tr').first()).toBeVisible();
  await screenshot(app.page, `${info.project.name}-contrastive`);
});

test('compare: two models side by side on normalised depth', async ({ app }, info) => {
  const models = await openView(app.page, 'models');
  await models.locator('[data-field=model-folder]').fill(app.controlModel);
  await models.locator('[data-action=open-model]').click();
  await expect(models.locator('[data-model-card]')).toHaveCount(2, { timeout: 60_000 });

  const root = await openView(app.page, 'compare');
  const boxes = root.locator('[data-compare-model]');
  await expect(boxes).toHaveCount(2);
  for (const box of await boxes.all()) await box.check();
  await runAndWait(app.page, root, 'run-compare', 12);
  await expect(root.locator('[data-chart=compare-fusion] svg').first()).toBeVisible();
  await expect(root.locator('[data-panel=compare-sample]')).toHaveCount(2);
  await screenshot(app.page, `${info.project.name}-compare`);
});

test('runs: the history lists every finished run', async ({ app }, info) => {
  const root = await openView(app.page, 'runs');
  const done = root.locator('[data-run-row][data-status=done]');
  await expect(done.first()).toBeVisible();
  expect(await done.count()).toBeGreaterThanOrEqual(5); // sweep, evolve, contrast, compare's sweeps and evolves
  await screenshot(app.page, `${info.project.name}-runs`);
});

test('runs: any analysis starts from its generated form, and its summary and provenance show', async ({
  app,
}) => {
  const root = await openView(app.page, 'runs');
  const panel = root.locator('[data-panel=new-run]');
  await panel.locator('[data-field=new-run-kind]').selectOption('eval');
  // The form is the eval schema's: its answer length field, at the schema's default.
  await expect(panel.locator('[data-field=eval-max-new-tokens]')).toHaveValue('8');
  await panel.locator('[data-field=eval-max-new-tokens]').fill('2');
  await panel.locator('[data-field=new-run-limit]').fill('3');
  await panel.locator('[data-action=start-run]').click();
  const row = root.locator('[data-run-row][data-kind=eval][data-status=done]').first();
  await expect(row).toBeVisible({ timeout: 60_000 });
  await row.click();
  const detail = root.locator('[data-panel=run-detail]');
  await expect(detail).toContainText('"maxNewTokens": 2');
  await expect(detail.locator('[data-panel=run-provenance]')).toContainText(/ONNX Runtime \d+\.\d+/);
  await expect(detail.locator('[data-panel=run-provenance]')).toContainText(/model [0-9a-f]{16}/);
});

test('export: the fusion curve as PNG at 1× and 2×, SVG and PDF', async ({ app }) => {
  const root = await openView(app.page, 'fusion');
  const chart = root.locator('[data-chart=fusion-curve]');
  await expect(chart.locator('svg').first()).toBeVisible();
  const exportAs = (kind: string, file: string) =>
    saveExport(app, file, async () => {
      await chart.locator('[data-action=export]').click();
      await chart.locator(`[data-export=${kind}]`).click();
    });

  const png1 = pngSize((await exportAs('png-1x', 'fusion-1x.png')).bytes);
  const png2 = pngSize((await exportAs('png-2x', 'fusion-2x.png')).bytes);
  expect(png1.width).toBeGreaterThan(200);
  expect(png2).toEqual({ width: png1.width * 2, height: png1.height * 2 });

  const svg = await exportAs('svg', 'fusion.svg');
  expect(await parseSvg(app.page, svg.bytes.toString('utf8'))).toEqual({ root: 'svg', error: null });

  const pdf = await exportAs('pdf', 'fusion.pdf');
  expect(pdfFacts(pdf.bytes)).toEqual({ header: '%PDF-', pages: 1 });
});

test('the page logged no errors along the way', async ({ app }) => {
  expect(app.pageErrors).toEqual([]);
});
