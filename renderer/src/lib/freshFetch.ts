/**
 * Lists fetched at start-up race the user's first actions: a `listModels` answered after an
 * `openModel` would put back the list from before the model opened. Each local change bumps the
 * counter; a fetch that saw a change while it was in flight is repeated, so the list applied is never
 * older than the last change.
 */
export interface FreshFetch {
  /** Call after every local change to what the fetched list holds. */
  changed(): void;
  /** `fetch()`, repeated until no change happened while it was in flight. */
  latest<T>(fetch: () => Promise<T>): Promise<T>;
}

export function freshFetch(): FreshFetch {
  let changes = 0;
  return {
    changed() {
      changes += 1;
    },
    async latest<T>(fetch: () => Promise<T>): Promise<T> {
      for (;;) {
        const before = changes;
        const value = await fetch();
        if (changes === before) return value;
      }
    },
  };
}
