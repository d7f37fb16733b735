/**
 * The image-token lens in the Layers view on the embedded demo model (12 layers, an 8 × 8 grid of
 * image tokens): the researcher runs it on a few items from its generated form, reads its per-layer
 * curves, then looks at one sample's image with every token labelled with the word it reads as, and
 * slides through the layers to watch the labels change.
 */
import { expect, test } from '../support/app.ts';
import { openView, screenshot } from '../support/views.ts';

const ITEMS = 3;

test('layers: the image-token lens labels each image token with its top-1 word, layer by layer', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'layers');
  await root.locator('[data-field=layers-kind]').selectOption('image-lens');
  // The form is the image-lens schema's, at its defaults.
  await expect(root.locator('[data-field=image-lens-top-k]')).toHaveValue('5');
  await root.locator('[data-field=run-limit]').fill(String(ITEMS));
  await root.locator('[data-action=run-image-lens]').click();
  const lines = root.locator('[data-summary-lines]');
  await expect(lines).toContainText(new RegExp(`^image-lens run \\d+: ${ITEMS} samples, 12 layers`), {
    timeout: 120_000,
  });
  await expect(lines).toContainText(/patch_gold_top5 +(\d\.\d{3} ){11}\d\.\d{3}/);
  await expect(app.page.locator('[data-job][data-job-state=running]')).toHaveCount(0);
  const chart = root.locator('[data-chart=image-lens]');
  await expect(chart.locator('svg').first()).toBeVisible();
  await expect(chart).toContainText('mean top-1 prob.');

  // The sample's image, every one of its 64 tokens labelled, at the last layer first.
  const panel = root.locator('[data-panel=image-lens]');
  await expect(panel).toHaveAttribute('data-layer', '11');
  const figure = panel.locator('svg.image-lens-grid');
  await expect(figure).toHaveAttribute('data-layer', '11');
  const cells = figure.locator('[data-lens-cell]');
  await expect(cells).toHaveCount(64);
  await expect(figure.locator('image').first()).toHaveAttribute('href', /.+/);
  await expect(panel.locator('[data-lens-facts]')).toContainText(
    /gold: .+ · mean top-1 probability \d+\.\d%/,
  );
  const readAt = async () =>
    cells.evaluateAll((nodes) =>
      nodes.map((n) => `${n.getAttribute('data-token')}:${n.querySelector('text')?.textContent?.trim()}`),
    );
  const last = await readAt();
  expect(new Set(last.map((c) => c.split(':')[1])).size).toBeGreaterThan(1);
  // Hovering a cell names its token and probability.
  await expect(cells.first().locator('title')).toHaveText(/^token 0: ".*" \(p = \d\.\d{3}\)$/);

  // Slide to the first layer: the figure redraws with that layer's words.
  await panel.locator('[data-field=image-lens-layer]').fill('0');
  await expect(panel).toHaveAttribute('data-layer', '0');
  await expect(figure).toHaveAttribute('data-layer', '0');
  await expect(cells).toHaveCount(64);
  await expect.poll(readAt).not.toEqual(last);
  await screenshot(app.page, `${info.project.name}-layers-image-lens`);

  // The next sample has its own image and labels.
  const before = await figure.locator('image').first().getAttribute('href');
  await panel.locator('[data-action=next-sample]').click();
  await expect(figure.locator('image').first()).not.toHaveAttribute('href', before ?? '');
  await expect(cells).toHaveCount(64);
});

test('the page logged no errors in the image lens', async ({ app }) => {
  expect(app.pageErrors).toEqual([]);
});
