/**
 * The UI never waits for the engine: while a full-dataset sweep runs (the engine works in its own
 * thread), a click answers within 200 ms — the clicked view is on screen. The sweep is then cancelled
 * from the job bar and stays resumable.
 *
 * The budget holds for the median of six clicks; any single click only has to stay under a stall
 * bound. On two shared cores with the engine busy, one click in a run now and then lands on a
 * garbage collection or a chart's first paint (211 ms was seen once in CI, with a median of 102 ms),
 * while an engine that blocked the page would push every click past the budget.
 */
import { expect, test } from '../support/app.ts';

const BUDGET_MS = 200;
const STALL_MS = 1_000;

test('a click answers within 200 ms while a sweep runs, and the sweep can be cancelled', async ({
  app,
}, info) => {
  const { page } = app;
  await page.locator('[data-nav=fusion]').click();
  const fusion = page.locator('section[data-view=fusion]');
  await fusion.locator('[data-field=run-limit]').fill('');
  await fusion.locator('[data-field=sweep-mode]').selectOption('knockout');
  await fusion.locator('[data-action=run-sweep]').click();
  const job = page.locator('[data-job][data-job-state=running]');
  await expect(job).toBeVisible({ timeout: 60_000 });
  // Let the engine get going: the progress line shows samples done.
  await expect(job).toContainText(/[1-9]\d*\s*\/\s*\d+/, { timeout: 60_000 });

  const latencies: number[] = [];
  for (const view of ['runs', 'models', 'datasets', 'attention', 'fusion', 'runs']) {
    const elapsed = await page.evaluate(async (name) => {
      const link = document.querySelector<HTMLElement>(`[data-nav=${name}]`);
      if (!link) throw new Error(`no nav link for ${name}`);
      const start = performance.now();
      link.click();
      // Answered = the view's root is in the DOM and a frame has been painted with it.
      while (!document.querySelector(`section[data-view=${name}]`)) {
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      await new Promise((resolve) => requestAnimationFrame(resolve));
      return performance.now() - start;
    }, view);
    latencies.push(elapsed);
  }
  const shown = latencies.map((l) => l.toFixed(0)).join(', ');
  info.annotations.push({ type: 'click latencies (ms)', description: shown });
  console.log(`click latencies during the sweep (ms): ${shown}`);
  // Still running: the clicks were answered during the sweep, not after it.
  await expect(job).toBeVisible();
  const sorted = [...latencies].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  const median = (sorted[Math.floor(middle - 0.5)] + sorted[Math.ceil(middle - 0.5)]) / 2;
  expect(median).toBeLessThan(BUDGET_MS);
  for (const latency of latencies) expect(latency).toBeLessThan(STALL_MS);

  await page.locator('[data-job][data-job-state=running] [data-action=cancel-job]').click();
  await expect(page.locator('[data-job][data-job-state=running]')).toHaveCount(0, { timeout: 60_000 });
  await page.locator('[data-nav=runs]').click();
  await expect(page.locator('[data-run-row][data-status=cancelled]').first()).toBeVisible();
});
