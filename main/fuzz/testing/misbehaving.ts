/** Targets that break the harness's rules on purpose, for isolate.test.ts. */
import * as fc from 'fast-check';

import type { FuzzTarget } from '../target.ts';

function target(name: string, check: (n: number) => void | Promise<void>): FuzzTarget<number> {
  return { name, summary: name, weight: 1, open: async () => ({ arbitrary: fc.nat({ max: 100 }), check }) };
}

export const FUZZ_TARGETS: readonly FuzzTarget<number>[] = [
  target('fine', () => {}),
  // Spins synchronously once n > 50: only the watchdog outside the thread can stop it.
  target('spins', (n) => {
    if (n > 50) for (;;);
  }),
  // Awaits something that never comes, while a timer keeps the event loop alive.
  target('stalls', (n) => (n > 50 ? new Promise<void>(() => setInterval(() => {}, 1000)) : undefined)),
  // Awaits something that never comes and nothing keeps the worker alive.
  target('vanishes', (n) => (n > 50 ? new Promise<void>(() => {}) : undefined)),
  target('slow', (n) => {
    const until = Date.now() + (n > 50 ? 450 : 0);
    while (Date.now() < until);
  }),
  target('throws', (n) => {
    if (n > 50) (undefined as unknown as { x: number }).x = n;
  }),
];
