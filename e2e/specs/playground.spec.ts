/**
 * The Playground (issue 17, item 5): no dataset, one image, one question. On the demo model: upload a
 * file, ask, read the answer and its map; a file that is no image is refused by name; mask a layer and
 * the masked answer shows beside the other, its map empty where the image is knocked out. On the
 * control model (the demo's weights shuffled, so it rambles for several tokens): click one generated
 * word, then another, and the map follows the word. Screenshots: <project>-playground(-tokens).png.
 */
import { join } from 'node:path';

import { expect, test } from '../support/app.ts';
import { REPO_ROOT } from '../support/paths.ts';
import { openView, screenshot } from '../support/views.ts';

test.describe.configure({ mode: 'serial' });

const IMAGE = join(REPO_ROOT, 'native-models', 'demo', 'data', 'test', 'images', 'test-000002.png');
const QUESTION = 'what color is the triangle?';

test('playground: an uploaded image gets an answer and the answer’s map, layer by layer', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'playground');
  await expect(root.locator('[data-field=model] option:checked')).toHaveText(/^demo/);
  await root.locator('[data-field=image-file]').setInputFiles(IMAGE);
  await expect(root.locator('[data-image-name]')).toHaveText('test-000002.png');
  await root.locator('[data-field=question]').fill(QUESTION);
  await root.locator('[data-action=ask]').click();

  const answer = root.locator('[data-answer=answer]');
  await expect(answer.locator('[data-token-index]').first()).toBeVisible({ timeout: 60_000 });
  await expect(answer).toHaveAttribute('data-answer-text', /\S/);
  const overlay = root.locator('[data-panel=token-overlay]');
  await expect(overlay).toHaveAttribute('data-chosen-token', '0');
  await expect(overlay).toHaveAttribute('data-layer', '11');
  // 64 image tokens, each a cell of the overlay.
  await expect(overlay.locator('svg.attention-overlay rect[fill^="#"]')).toHaveCount(64);
  const last = await overlay.locator('svg.attention-overlay').innerHTML();
  await root.locator('[data-field=layer]').fill('0');
  await expect(overlay).toHaveAttribute('data-layer', '0');
  expect(await overlay.locator('svg.attention-overlay').innerHTML()).not.toBe(last);
  await expect(root.locator('[data-panel=token-strip] [data-strip-layer]')).toHaveCount(12);
  await root.locator('[data-field=layer]').fill('11');
  await screenshot(app.page, `${info.project.name}-playground`);
});

test('playground: a file that is no image is refused by name', async ({ app }) => {
  const root = await openView(app.page, 'playground');
  await root.locator('[data-field=image-file]').setInputFiles({
    name: 'notes.txt',
    mimeType: 'text/plain',
    buffer: Buffer.from('not a picture at all\n'),
  });
  await root.locator('[data-action=ask]').click();
  await expect(root.locator('[data-error]')).toContainText('"notes.txt" is not an image');
  // Back to the image for the next stories.
  await root.locator('[data-field=image-file]').setInputFiles(IMAGE);
  await expect(root.locator('[data-error]')).toHaveCount(0);
});

test('playground: masking a layer adds the masked answer, blind to the image at that layer', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'playground');
  await root.locator('[data-field=mask-enabled]').check();
  await root.locator('[data-field=mask-mode]').selectOption('knockout');
  await root.locator('[data-mask-layer="3"]').check();
  await root.locator('[data-action=ask]').click();
  const masked = root.locator('[data-answer=masked]');
  await expect(masked).toContainText('Masked: knockout at layer 3', { timeout: 60_000 });
  await expect(masked.locator('[data-token-index]').first()).toBeVisible();
  await expect(root.locator('[data-answer=answer] [data-token-index]').first()).toBeVisible();

  await masked.locator('[data-token-index="0"]').click();
  const overlay = root.locator('[data-panel=token-overlay]');
  await expect(overlay).toHaveAttribute('data-chosen-answer', 'masked');
  await root.locator('[data-field=layer]').fill('3');
  await expect(overlay).toHaveAttribute('data-layer', '3');
  await expect(overlay.locator('[data-note=no-image-attention]')).toBeVisible();
  await root.locator('[data-field=layer]').fill('4');
  await expect(overlay.locator('[data-note=no-image-attention]')).toHaveCount(0);
  await screenshot(app.page, `${info.project.name}-playground-masked`);
  await root.locator('[data-field=mask-enabled]').uncheck();
});

test('playground: each generated word has its own map', async ({ app }, info) => {
  const models = await openView(app.page, 'models');
  await models.locator('[data-field=model-folder]').fill(app.controlModel);
  await models.locator('[data-action=open-model]').click();
  const card = models.locator('[data-model-card]', { hasText: 'control-model' });
  await expect(card).toBeVisible({ timeout: 60_000 });
  const controlId = (await card.getAttribute('data-model-id'))!;

  const root = await openView(app.page, 'playground');
  await root.locator('[data-field=model]').selectOption(controlId);
  await root.locator('[data-field=max-new-tokens]').fill('6');
  await root.locator('[data-action=ask]').click();
  const words = root.locator('[data-answer=answer] [data-token-index]');
  await expect(words.nth(1)).toBeVisible({ timeout: 60_000 });

  const overlay = root.locator('[data-panel=token-overlay]');
  const map = overlay.locator('svg.attention-overlay');
  await root.locator('[data-field=layer]').fill('11');
  await words.nth(0).click();
  await expect(overlay).toHaveAttribute('data-chosen-token', '0');
  await expect(words.nth(0)).toHaveAttribute('aria-pressed', 'true');
  const first = await map.innerHTML();
  await words.nth(1).click();
  await expect(overlay).toHaveAttribute('data-chosen-token', '1');
  await expect(overlay).toHaveAttribute(
    'data-chosen-text',
    (await words.nth(1).getAttribute('data-token-text'))!,
  );
  await expect(map).toHaveAttribute('data-token-map', 'answer:1:11');
  expect(await map.innerHTML()).not.toBe(first);
  await screenshot(app.page, `${info.project.name}-playground-tokens`);

  // Close the control model again, so later stories see the demo model alone.
  const back = await openView(app.page, 'models');
  await back.locator(`[data-model-card][data-model-id="${controlId}"]`).click();
  await back.locator('[data-action=close-model]').click();
  await expect(back.locator(`[data-model-card][data-model-id="${controlId}"]`)).toHaveCount(0);
  expect(app.pageErrors).toEqual([]);
});
