/** The renderer's single way to the backend: provided once at start-up, injected where needed. */
import { inject, type App, type InjectionKey } from 'vue';

import type { PreloadBridge, Transport } from '../../../main/common/api/index.ts';
import { createElectronTransport } from './electronTransport.ts';
import { createHttpTransport } from './httpTransport.ts';

export { ApiCallError } from './errors.ts';

const TRANSPORT: InjectionKey<Transport> = Symbol('transport');

export function detectTransport(): Transport {
  const bridge = (window as unknown as { fusionscope?: PreloadBridge }).fusionscope;
  return bridge ? createElectronTransport(bridge) : createHttpTransport();
}

export function provideTransport(app: App, transport: Transport): void {
  app.provide(TRANSPORT, transport);
}

export function useTransport(): Transport {
  const transport = inject(TRANSPORT);
  if (!transport) throw new Error('no transport provided (main.ts must call provideTransport)');
  return transport;
}
