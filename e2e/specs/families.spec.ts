/**
 * Issue 6 in the app: a LLaVA-NeXT checkpoint (tiny, random) opened from its folder, described in the
 * Models view (its image-token count varies per image), then chosen in each analysis view's model
 * picker to run the masking sweep, attention evolution and contrastive attention on the demo data.
 * Its 88 image tokens (4 × 4 base, 8 rows of 8 tile tokens, an image_newline after each row) form no
 * single square grid; the overlay draws each token's own rectangle of the image. Then the same three
 * analyses on VIP-LLaVA (multi-layer features, layer-normed projector), Qwen2-VL and Qwen2.5-VL
 * (issue 7: dynamic resolution, M-RoPE, window attention) and InstructBLIP (issue 8: Q-Former query
 * tokens, drawn through its cross-attention). Each model is closed at the end, so the stories after
 * these see the demo model alone.
 */
import type { Locator } from '@playwright/test';

import { expect, test, type AppUnderTest } from '../support/app.ts';
import { openView, screenshot } from '../support/views.ts';

test.describe.configure({ mode: 'serial' });

const LAYERS = 4;

/**
 * Picks the model in the view's picker, starts a run of 4 items and waits until the view shows that
 * run finished (the model has no earlier run of this kind, so the newest run is this one).
 */
async function runOnModel(root: Locator, modelId: string, action: string): Promise<void> {
  await root.locator('[data-field=model]').selectOption(modelId);
  await root.locator('[data-field=run-limit]').fill('4');
  await root.locator(`[data-action=${action}]`).click();
  // "#12 · 4 items · mode knockout …", with no "(running)" after it.
  await expect(root.locator('[data-field=run] option:checked')).toHaveText(/^#\d+ · 4 items( · [^()]*)?$/, {
    timeout: 60_000,
  });
}

let modelId: string;

test('models: a LLaVA-NeXT folder opens and says its token count varies per image', async ({ app }, info) => {
  const root = await openView(app.page, 'models');
  // The demo model is preloaded; the new card joins it.
  await expect(root.locator('[data-model-card]').first()).toBeVisible({ timeout: 60_000 });
  await root.locator('[data-field=model-folder]').fill(app.familyModels.llava_next);
  await root.locator('[data-action=open-model]').click();
  const card = root.locator('[data-model-card]', { hasText: 'llava_next' });
  await expect(card).toBeVisible({ timeout: 60_000 });
  modelId = (await card.getAttribute('data-model-id'))!;
  await card.click();
  const details = root.locator(`[data-model-details][data-model-id="${modelId}"]`);
  await expect(details.locator('[data-fact=model-type]')).toHaveText('llava_next');
  await expect(details.locator('[data-fact=layers]')).toHaveText(String(LAYERS));
  await expect(details.locator('[data-fact=image-tokens]')).toHaveText('varies per image (up to 88)');
  await expect(details.locator('[data-fact=image-grid]')).toHaveText('4 × 4');
  await expect(details.locator('[data-fact=tile-size]')).toHaveText('28 px');
  await expect(details.locator('[data-fact=tile-grids]')).toHaveText('1×2, 2×1, 2×2, 3×1, 1×3');
  await expect(details.locator('[data-note=variable-tokens]')).toBeVisible();
  await screenshot(app.page, `${info.project.name}-llava-next-models`);
});

test('fusion: the sweep masks each of its layers and draws the curve', async ({ app }) => {
  const root = await openView(app.page, 'fusion');
  await runOnModel(root, modelId, 'run-sweep');
  await expect(root.locator('[data-chart=fusion-curve] svg').first()).toBeVisible();
});

test('attention: the overlay of 88 tokens lands on the image and follows the slider', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'attention');
  await runOnModel(root, modelId, 'run-evolve');
  const overlay = root.locator('[data-panel=attention-overlay]');
  await expect(overlay).toBeVisible();
  // One cell per placed token: 16 base + 64 tile tokens (the 8 newlines have no rectangle), each inside
  // the image's own pixel frame (the overlay's viewBox), whatever the layout.
  const cells = await overlay
    .locator('svg.attention-overlay')
    .first()
    .evaluate((svg) => {
      const frame = svg.getAttribute('viewBox')!.split(' ').map(Number);
      const rects = [...svg.querySelectorAll('g[shape-rendering=crispEdges] > rect')].map((r) =>
        ['x', 'y', 'width', 'height'].map((k) => Number(r.getAttribute(k))),
      );
      return { frame, rects };
    });
  expect(cells.frame).toEqual([0, 0, 64, 64]);
  expect(cells.rects).toHaveLength(16 + 64);
  for (const [x, y, w, h] of cells.rects) {
    expect(Math.min(x, y, w, h)).toBeGreaterThanOrEqual(0);
    expect(Math.max(x + w, y + h)).toBeLessThanOrEqual(64);
  }
  const slider = root.locator('[data-field=layer]');
  await slider.fill('0');
  await expect(overlay).toHaveAttribute('data-layer', '0');
  const first = await overlay.innerHTML();
  await slider.fill(String(LAYERS - 1));
  await expect(overlay).toHaveAttribute('data-layer', String(LAYERS - 1));
  expect(await overlay.innerHTML()).not.toBe(first);
  await screenshot(app.page, `${info.project.name}-llava-next-attention`);
});

test('contrastive: pre, final and contrastive maps with the layers from its sweep', async ({ app }) => {
  const root = await openView(app.page, 'contrastive');
  await runOnModel(root, modelId, 'run-contrast');
  for (const panel of ['pre', 'final', 'ca'])
    await expect(root.locator(`[data-panel=${panel}]`)).toBeVisible();
});

test('the model closes, leaving the demo model selected, and the page logged no errors', async ({ app }) => {
  const root = await openView(app.page, 'models');
  await root.locator(`[data-model-card][data-model-id="${modelId}"]`).click();
  await root.locator('[data-action=close-model]').click();
  await expect(root.locator(`[data-model-card][data-model-id="${modelId}"]`)).toHaveCount(0);
  await expect(root.locator('[data-model-details]')).toContainText('demo');
  expect(app.pageErrors).toEqual([]);
});

/** What a family's story expects to see once its model is open. */
interface FamilyExpectations {
  readonly modelType: keyof AppUnderTest['familyModels'];
  /** The Models view's image-token fact, e.g. "16 tokens". */
  readonly imageTokens: string | RegExp;
  /** The note on how the family's tokens are laid out, if it has its own. */
  readonly note?: string;
  /** Cells the attention overlay draws on the 64 px demo image. */
  readonly overlayCells: number;
  /** A note shown beside the attention and contrastive maps, if any. */
  readonly mapNote?: string;
}

/**
 * Opens the family's folder, checks its Models-view facts, runs the sweep, evolution and contrast in
 * their views (4 items each), checks the overlay's cells, then closes the model again.
 */
async function familyStory(app: AppUnderTest, family: FamilyExpectations, shot: string): Promise<void> {
  const models = await openView(app.page, 'models');
  await models.locator('[data-field=model-folder]').fill(app.familyModels[family.modelType]);
  await models.locator('[data-action=open-model]').click();
  const card = models.locator('[data-model-card]', { hasText: family.modelType });
  await expect(card).toBeVisible({ timeout: 60_000 });
  const id = (await card.getAttribute('data-model-id'))!;
  await card.click();
  const details = models.locator(`[data-model-details][data-model-id="${id}"]`);
  await expect(details.locator('[data-fact=model-type]')).toHaveText(family.modelType);
  await expect(details.locator('[data-fact=image-tokens]')).toHaveText(family.imageTokens);
  if (family.note) await expect(details.locator(`[data-note=${family.note}]`)).toBeVisible();

  const fusion = await openView(app.page, 'fusion');
  await runOnModel(fusion, id, 'run-sweep');
  await expect(fusion.locator('[data-chart=fusion-curve] svg').first()).toBeVisible();

  const attention = await openView(app.page, 'attention');
  await runOnModel(attention, id, 'run-evolve');
  const overlay = attention.locator('[data-panel=attention-overlay]');
  await expect(overlay).toBeVisible();
  await expect(overlay.locator('svg.attention-overlay g[shape-rendering=crispEdges] > rect')).toHaveCount(
    family.overlayCells,
  );
  if (family.mapNote) await expect(attention.locator(`[data-note=${family.mapNote}]`)).toBeVisible();
  await screenshot(app.page, shot);

  const contrastive = await openView(app.page, 'contrastive');
  await runOnModel(contrastive, id, 'run-contrast');
  for (const panel of ['pre', 'final', 'ca'])
    await expect(contrastive.locator(`[data-panel=${panel}]`)).toBeVisible();
  if (family.mapNote) await expect(contrastive.locator(`[data-note=${family.mapNote}]`)).toBeVisible();

  const back = await openView(app.page, 'models');
  await back.locator(`[data-model-card][data-model-id="${id}"]`).click();
  await back.locator('[data-action=close-model]').click();
  await expect(back.locator(`[data-model-card][data-model-id="${id}"]`)).toHaveCount(0);
  expect(app.pageErrors).toEqual([]);
}

test('VIP-LLaVA: opens from its folder and runs the sweep, evolution and contrast', async ({ app }, info) => {
  // 16 image tokens on a 4 × 4 grid over the 64 px image.
  await familyStory(
    app,
    { modelType: 'vipllava', imageTokens: '16 tokens', overlayCells: 16 },
    `${info.project.name}-vipllava-attention`,
  );
});

test('Qwen2-VL: dynamic resolution and M-RoPE, the same three analyses', async ({ app }, info) => {
  // The 64 px image stays 64 px (a multiple of patch 4 × merge 2): 16 × 16 patches, 8 × 8 tokens.
  await familyStory(
    app,
    {
      modelType: 'qwen2_vl',
      imageTokens: 'varies per image (dynamic resolution)',
      note: 'merged-patches',
      overlayCells: 64,
    },
    `${info.project.name}-qwen2-vl-attention`,
  );
});

test('Qwen2.5-VL: window attention in the tower, the same three analyses', async ({ app }, info) => {
  await familyStory(
    app,
    {
      modelType: 'qwen2_5_vl',
      imageTokens: 'varies per image (dynamic resolution)',
      note: 'merged-patches',
      overlayCells: 64,
    },
    `${info.project.name}-qwen2-5-vl-attention`,
  );
});

test('InstructBLIP: query tokens drawn through the Q-Former cross-attention', async ({ app }, info) => {
  // 4 queries; maps drawn on the 4 × 4 patch grid of the 32 px tower input, stretched over the image.
  await familyStory(
    app,
    {
      modelType: 'instructblip',
      imageTokens: '4 query tokens',
      note: 'query-tokens',
      overlayCells: 16,
      mapNote: 'query-overlay',
    },
    `${info.project.name}-instructblip-attention`,
  );
});
