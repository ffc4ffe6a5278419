import { TimerWheel } from './timer-wheel.js';

/** An opaque timer handle. */
export interface Timer {
  readonly __timer: true;
}

/**
 * Time source for every layer that runs timers (transactions, flows, bindings). Production uses
 * {@link RealClock}; tests use {@link ManualClock} to step through RFC 3261 timers without waiting.
 */
export interface Clock {
  /** Milliseconds, monotonic. */
  now(): number;
  /** Wall-clock milliseconds since the epoch (for expiry times that outlive the process). */
  wallNow(): number;
  setTimer(ms: number, fn: () => void): Timer;
  clearTimer(timer: Timer | undefined): void;
}

/** The production clock: one timer wheel over `performance.now()`. */
export class RealClock implements Clock {
  #wheel: TimerWheel;
  constructor(tickMs = 5) {
    this.#wheel = new TimerWheel(tickMs, () => performance.now());
  }
  now(): number {
    return performance.now();
  }
  wallNow(): number {
    return Date.now();
  }
  setTimer(ms: number, fn: () => void): Timer {
    return this.#wheel.add(ms, fn) as unknown as Timer;
  }
  clearTimer(timer: Timer | undefined): void {
    if (timer !== undefined) this.#wheel.cancel(timer as unknown as ReturnType<TimerWheel['add']>);
  }
  /** Number of pending timers (for metrics and tests). */
  get pending(): number {
    return this.#wheel.size;
  }
}

interface ManualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to: deterministic timers for tests. */
export class ManualClock implements Clock {
  #now: number;
  #wallOffset: number;
  #seq = 0;
  #timers: ManualTimer[] = [];

  constructor(start = 0, wallStart = 1_750_000_000_000) {
    this.#now = start;
    this.#wallOffset = wallStart - start;
  }
  now(): number {
    return this.#now;
  }
  wallNow(): number {
    return this.#now + this.#wallOffset;
  }
  setTimer(ms: number, fn: () => void): Timer {
    const t: ManualTimer = {
      at: this.#now + Math.max(0, ms),
      seq: this.#seq++,
      fn,
      cancelled: false,
    };
    this.#timers.push(t);
    return t as unknown as Timer;
  }
  clearTimer(timer: Timer | undefined): void {
    if (timer !== undefined) (timer as unknown as ManualTimer).cancelled = true;
  }
  /** Pending (not cancelled) timers. */
  get pending(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }
  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.#timers) {
        if (t.cancelled || t.at > end) continue;
        if (next === undefined || t.at < next.at || (t.at === next.at && t.seq < next.seq))
          next = t;
      }
      if (next === undefined) break;
      this.#now = next.at;
      next.cancelled = true;
      this.#timers = this.#timers.filter((t) => !t.cancelled);
      next.fn();
    }
    this.#now = end;
  }
}
