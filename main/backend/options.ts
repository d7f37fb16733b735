/**
 * The choices BackendOptions offers (execution provider, weight precision) and where built models are
 * cached, for a transport's command line (main/web/serve.ts) to check and print: the transports reach
 * the engine only through the backend.
 */
export { isProviderRequest, PROVIDERS } from '../engine/runtime/providers.ts';
export { isPrecision, PRECISIONS } from '../engine/model/precision.ts';
export { defaultModelCacheDir } from '../engine/model/modelCache.ts';
