/** Steps every story takes: open a view from the side bar, and screenshot it for the artifacts. */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { expect, type Locator, type Page } from '@playwright/test';

import { SCREENSHOT_DIR } from './paths.ts';

/** Saves the window as `<name>.png` in e2e/artifacts/screenshots/, toasts dismissed first. */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  // Toasts from earlier steps would cover the view's header.
  // Info toasts also expire by themselves: one may be gone before its button is clicked.
  for (const dismiss of await page.locator('[data-notice] [data-action=dismiss-notice]').all())
    await dismiss.click({ timeout: 1000 }).catch(() => undefined);
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: false });
}

/** Clicks the view's link in the side bar and returns its root once shown. */
export async function openView(page: Page, view: string): Promise<Locator> {
  await page.locator(`[data-nav=${view}]`).click();
  const root = page.locator(`section[data-view=${view}]`);
  await expect(root).toBeVisible();
  return root;
}
