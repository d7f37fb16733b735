// Test worker (backend.test.ts): the real engine worker, except that a job whose prompt suffix is
// CRASH_MARKER kills the worker thread right after its first sample is recorded, as a native crash would
// (a resumed job, with the same config, is left alone).
import { parentPort } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const CRASH_MARKER = 'crash the engine worker after one sample';

register();
// The worker first: a listener added earlier would start the port and take requests meant for it.
await import('./engineWorker.ts');
const doomed = new Set();
parentPort.on('message', (message) => {
  const request = message.kind === 'request' ? message.request : undefined;
  if (
    request?.type === 'runJob' &&
    request.resume === undefined &&
    request.experiment.config.promptSuffix === CRASH_MARKER
  ) {
    doomed.add(request.jobId);
  }
});
const post = parentPort.postMessage.bind(parentPort);
parentPort.postMessage = (message, transfer) => {
  post(message, transfer);
  const event = message.kind === 'event' ? message.event : undefined;
  if (event?.type === 'progress' && doomed.has(event.jobId) && event.progress.done >= 1) process.exit(70);
};
