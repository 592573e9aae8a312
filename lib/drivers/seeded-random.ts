/**
 * A small deterministic generator (mulberry32): the same seed gives the same sequence on every platform, which is
 * what makes a simulated link's trace repeatable.
 */
export class SeededRandom {
  private state: number;

  /** @param seed - any uint32 */
  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 0x1_0000_0000;
  }
}
