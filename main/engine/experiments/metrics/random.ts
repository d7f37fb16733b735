/**
 * The bootstrap's seeded randomness: mulberry32, which uses only 32-bit integer ops (Math.imul, >>>),
 * so the same seed gives the same resamples, hence the same interval, on every machine and JS engine.
 * The synthetic generator draws from it too (synthetic/random.ts), so changing it changes both the
 * generated datasets and the stored intervals: random.test.ts pins its stream.
 */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
}
