/** The backend every transport (Electron IPC, HTTP/WebSocket) wraps; see types.ts for the contract. */
export { createBackend } from './backend.ts';
export { DEFAULT_ENGINE_WORKER } from './engineClient.ts';
export type { Backend, BackendOptions } from './types.ts';
