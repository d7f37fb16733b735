// The fuzz worker's entry point (isolate.ts starts it): registers tsx's loader in this thread, then
// runs worker.ts. A worker's entry is loaded before `execArgv: ['--import', 'tsx']` takes effect on
// Node 20, and vitest's module runner has no import.meta.resolve, so the loader is registered here.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
