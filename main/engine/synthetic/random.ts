/**
 * Seeded randomness. Everything random in the generator flows from here so that output depends only on
 * the arguments (no Math.random, no Date): mulberry32 is tiny, fast and identical on every JS engine
 * because it uses only 32-bit integer ops (Math.imul, >>>).
 */
import { SeededRandom } from '../experiments/metrics/random.ts';

/** 32-bit FNV-1a followed by a murmur3 finaliser (FNV alone mixes the low bits poorly for short keys). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The engine's mulberry32 (the same stream the bootstrap uses) with the generator's helpers. */
export class Rng extends SeededRandom {
  /** Uniform integer in [lo, hi] (inclusive). */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('Rng.pick: empty list');
    return items[this.int(items.length)];
  }

  /** Index drawn proportionally to non-negative weights (at least one positive). */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) total += w;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      r -= weights[i];
      if (r < 0 && weights[i] > 0) return i;
    }
    // Floating-point leftovers: fall back to the last positive weight.
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    throw new Error('Rng.weightedIndex: no positive weight');
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  }
}
