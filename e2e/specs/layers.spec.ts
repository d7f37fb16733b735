/**
 * The Layers view on the embedded demo model: the researcher picks a per-layer read-out (logit lens,
 * attention share), sets it up in its generated form, runs it on a few items and reads its per-layer
 * chart, the summary, and (logit lens) a sample's top tokens layer by layer.
 */
import type { Locator, Page } from '@playwright/test';

import { expect, test } from '../support/app.ts';
import { openView, screenshot } from '../support/views.ts';

test.describe.configure({ mode: 'serial' });

const ITEMS = 4;

/** Starts the chosen analysis's run on `limit` items and waits until its summary names them. */
async function runOnItems(page: Page, root: Locator, kind: string, limit: number): Promise<void> {
  await root.locator('[data-field=run-limit]').fill(String(limit));
  await root.locator(`[data-action=run-${kind}]`).click();
  await expect(root.locator('[data-summary-lines]')).toContainText(
    new RegExp(`^${kind} run \\d+: ${limit} samples, 12 layers`),
    { timeout: 120_000 },
  );
  await expect(page.locator('[data-job][data-job-state=running]')).toHaveCount(0);
}

test('layers: the logit lens runs on a few items and draws gold probability and rank per layer', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'layers');
  await root.locator('[data-field=layers-kind]').selectOption('logit-lens');
  // The form is the logit-lens schema's, at its default.
  const topK = root.locator('[data-field=logit-lens-top-k]');
  await expect(topK).toHaveValue('5');
  await topK.fill('3');
  await runOnItems(app.page, root, 'logit-lens', ITEMS);
  const chart = root.locator('[data-chart=logit-lens]');
  await expect(chart.locator('svg').first()).toBeVisible();
  await expect(chart).toContainText('gold probability');
  await expect(root.locator('[data-summary-lines]')).toContainText(/gold first top-1|top-1 at no layer/);
  const tokens = root.locator('[data-table=lens-top-tokens]');
  await expect(tokens.locator('tbody tr')).toHaveCount(12);
  await expect(tokens.locator('thead th')).toHaveCount(1 + 3);
  await screenshot(app.page, `${info.project.name}-layers-logit-lens`);
});

test('layers: attention share runs on a few items and stacks the four shares per layer', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'layers');
  await root.locator('[data-field=layers-kind]').selectOption('attention-share');
  await expect(root.locator('[data-field=attention-share-image-share-threshold]')).toHaveValue('0.01');
  await runOnItems(app.page, root, 'attention-share', ITEMS);
  const chart = root.locator('[data-chart=attention-share]');
  await expect(chart.locator('svg').first()).toBeVisible();
  await expect(chart).toContainText('prefix (BOS, system)');
  await expect(root.locator('[data-flagged-layers]')).toContainText(/Image share (below|at or above) 0\.01/);
  await screenshot(app.page, `${info.project.name}-layers-attention-share`);
});

test('layers: head × layer knockout draws which heads carry the image where', async ({ app }, info) => {
  const root = await openView(app.page, 'layers');
  await root.locator('[data-field=layers-kind]').selectOption('head-knockout');
  await expect(root.locator('[data-field=head-knockout-queries]')).toHaveValue('all');
  await root.locator('[data-field=head-knockout-max-new-tokens]').fill('1');
  await root.locator('[data-field=run-limit]').fill('2');
  await root.locator('[data-action=run-head-knockout]').click();
  await expect(root.locator('[data-summary-lines]')).toContainText(
    /^head-knockout run \d+: 2 samples, 12 layers × 4 heads/,
    {
      timeout: 120_000,
    },
  );
  const chart = root.locator('[data-chart=head-knockout]');
  await expect(chart.locator('svg').first()).toBeVisible();
  await expect(chart).toContainText('attention head');
  await screenshot(app.page, `${info.project.name}-layers-head-knockout`);
});

test('layers: question contrast pairs the questions asked of one image and finds where attention follows them', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'layers');
  await root.locator('[data-field=layers-kind]').selectOption('question-contrast');
  // On the one-question-per-image test split there is nothing to pair: the view says which data to use.
  await expect(root.locator('[data-hint=question-contrast]')).toContainText('synthetic-vqa-multi');
  const picker = root.locator('[data-field=dataset]');
  const multi = picker.locator('option', { hasText: 'synthetic-vqa-multi' });
  await picker.selectOption((await multi.getAttribute('value')) as string);
  // Seven items: the first images' two or three questions each (ids test-000001-q1...).
  await root.locator('[data-field=run-limit]').fill('7');
  await root.locator('[data-action=run-question-contrast]').click();
  const lines = root.locator('[data-summary-lines]');
  await expect(lines).toContainText(
    /^question-contrast run \d+: [23] images, \d+ ordered question pairs, 12 layers/,
    {
      timeout: 120_000,
    },
  );
  await expect(lines).toContainText(/attention follows the question most at layer \d/);
  const chart = root.locator('[data-chart=question-contrast]');
  await expect(chart.locator('svg').first()).toBeVisible();
  await expect(chart).toContainText('own − other');
  await screenshot(app.page, `${info.project.name}-layers-question-contrast`);
  // Back to the test split for the specs that follow.
  await picker.selectOption({ index: 0 });
});

test('the page logged no errors in the Layers view', async ({ app }) => {
  expect(app.pageErrors).toEqual([]);
});
