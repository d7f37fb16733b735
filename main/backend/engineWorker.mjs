// Starts the engine worker from source: registers tsx in this thread, then loads the TypeScript entry.
// A bundled app points BackendOptions.engineWorker at its bundled worker instead.
import { register } from 'tsx/esm/api';

register();
await import('./engineWorker.ts');
