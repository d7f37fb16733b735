/** The typed API between the renderer and the backend (see methods.ts for the method table). */
export * from './methods.ts';
export * from './protocol.ts';
export type * from './types.ts';
export * from './playground.ts';
export * from './bridge.ts';
export * from './shell.ts';
