/** A source of time, injected into drivers so that specs can run on a manual clock without sleeping. */
export interface Clock {
  /** Milliseconds since an arbitrary fixed origin; never goes backwards. */
  nowMs(): number;
}

/** The process's monotonic clock (`performance.now()`). */
export const systemClock: Clock = Object.freeze({
  nowMs: (): number => performance.now(),
});

/** A clock that moves only when told to. */
export class ManualClock implements Clock {
  private currentMs: number;

  /** @param startMs - the initial time in milliseconds. Default: 0. */
  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  /** The current time in milliseconds. */
  nowMs(): number {
    return this.currentMs;
  }

  /**
   * Moves time forward.
   * @throws RangeError for a negative or non-finite step
   */
  advance(stepMs: number): void {
    if (!Number.isFinite(stepMs) || stepMs < 0) throw new RangeError(`Expected stepMs to be a finite number >= 0, got ${stepMs}`);
    this.currentMs += stepMs;
  }
}
