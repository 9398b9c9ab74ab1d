/** Releases a slot taken by `Admission.tryEnter`; a second call does nothing. */
export type Release = () => void;

/**
 * A bounded gate: `maxInFlight` holders at once and at most `maxQueued` waiting, first come first
 * served. Past both, `tryEnter` refuses at once (the caller answers 429) — the queue never grows
 * without bound.
 */
export class Admission {
  private running = 0;
  private readonly waiting: Array<(release: Release) => void> = [];

  constructor(
    readonly maxInFlight: number,
    readonly maxQueued: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** A promise of the slot (at once, or when one frees), or `undefined` when in-flight and queue are full. */
  tryEnter(): Promise<Release> | undefined {
    if (this.running < this.maxInFlight) {
      this.running++;
      return Promise.resolve(this.releaser());
    }
    if (this.waiting.length >= this.maxQueued) return undefined;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.waiting.shift();
      // The slot passes straight to the next waiter: the running count stays.
      if (next === undefined) this.running--;
      else next(this.releaser());
    };
  }
}
