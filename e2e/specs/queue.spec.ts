/**
 * Issue 18, queued runs from the app. A redis-server and one queue worker run beside the app (in this
 * test process, on the demo model); the researcher types the queue's URL in the Runs form, sees the
 * worker listed, starts a small sweep on the queue and reads its summary once the worker has computed
 * it. A queue no worker listens on says why a run waits; one that nothing answers on says so.
 * Skipped when redis-server is not installed, unless FUSIONSCOPE_REQUIRE_REDIS is set.
 */
import { DEMO_MODEL_DIR } from '../../main/engine/demo.ts';
import { parseQueueAddress } from '../../main/engine/queue/address.ts';
import { redisAvailable, startRedis, type RedisServer } from '../../main/engine/queue/redisServer.testing.ts';
import { startWorker, type RunningWorker } from '../../main/engine/queue/worker.ts';
import { expect, test } from '../support/app.ts';
import { openView, screenshot } from '../support/views.ts';

test.describe.configure({ mode: 'serial' });

const available = redisAvailable();
const WORKER_ID = 'e2e-queue-worker';
const ITEMS = 3;
/** Served by the worker below. */
let served: RedisServer;
/** No worker listens on this one. */
let idle: RedisServer;
let worker: RunningWorker;

test.skip(!available, 'redis-server is not installed (apt-get install redis-server)');

test.beforeAll(async () => {
  [served, idle] = await Promise.all([startRedis(), startRedis()]);
  worker = await startWorker({
    address: parseQueueAddress(served.url),
    models: [DEMO_MODEL_DIR],
    provider: 'cpu',
    id: WORKER_ID,
  });
});

test.afterAll(async () => {
  await worker?.close();
  await Promise.all([served?.stop(), idle?.stop()]);
});

test('queue: the worker is listed, and a sweep it computes finishes with its summary', async ({
  app,
}, info) => {
  const root = await openView(app.page, 'runs');
  const form = root.locator('[data-panel=new-run]');
  await form.locator('[data-field=queue]').fill(served.url);
  const row = root.locator(`[data-panel=workers] [data-worker-row][data-worker-id=${WORKER_ID}]`);
  await expect(row).toBeVisible();
  await expect(row.locator('[data-worker-samples]')).toHaveText('0');

  await form.locator('[data-field=new-run-kind]').selectOption('sweep');
  await form.locator('[data-field=new-run-limit]').fill(String(ITEMS));
  await form.locator('[data-action=start-run]').click();
  const job = app.page.locator('[data-job]').filter({ has: app.page.locator('[data-job-queued]') });
  await expect(job).toHaveAttribute('data-job-outcome', 'done', { timeout: 120_000 });
  // The worker computed every item (the list is asked again every 2 s), on the CPU.
  await expect(row.locator('[data-worker-samples]')).toHaveText(String(ITEMS));
  await expect(row).toContainText('cpu');

  const run = root.locator('[data-run-row][data-kind=sweep][data-status=done]').first();
  await run.click();
  await expect(root.locator('[data-panel=run-summary]')).toContainText(
    new RegExp(`sweep run \\d+ .* over ${ITEMS} samples`),
  );
  await screenshot(app.page, `${info.project.name}-queue`);
});

test('queue: a run no live worker holds says why it waits, and cancels', async ({ app }, info) => {
  const root = await openView(app.page, 'runs');
  const form = root.locator('[data-panel=new-run]');
  await form.locator('[data-field=queue]').fill(idle.url);
  await expect(root.locator('[data-panel=workers] [data-workers-empty]')).toBeVisible();

  await form.locator('[data-field=new-run-kind]').selectOption('eval');
  await form.locator('[data-field=new-run-limit]').fill('2');
  await form.locator('[data-action=start-run]').click();
  const job = app.page.locator('[data-job][data-job-state=running]');
  await expect(job.locator('[data-job-unserved]')).toContainText('waiting: no worker is live on this queue');
  await screenshot(app.page, `${info.project.name}-queue-waiting`);
  await job.locator('[data-action=cancel-job]').click();
  await expect(app.page.locator('[data-job][data-job-state=running]')).toHaveCount(0);
});

test('queue: a queue nothing answers on is named, with what to check', async ({ app }) => {
  const root = await openView(app.page, 'runs');
  await root.locator('[data-field=queue]').fill('redis://127.0.0.1:1');
  await expect(root.locator('[data-panel=workers] [data-workers-error]')).toContainText(
    'cannot use the queue at redis://127.0.0.1:1: nothing answers there',
  );
  // Emptied: runs compute here again, and no panel asks about a queue.
  await root.locator('[data-field=queue]').fill('');
  await expect(root.locator('[data-panel=workers]')).toHaveCount(0);
  expect(app.pageErrors).toEqual([]);
});
