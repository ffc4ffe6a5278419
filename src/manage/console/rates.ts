import type { ConsoleRates } from './types.js';

/** The request and reply counters of one element at one moment. */
export interface RateSample {
  readonly element: string;
  readonly requests: number;
  readonly replies: number;
}

interface Series {
  readonly requests: Float64Array;
  readonly replies: Float64Array;
  lastRequests: number;
  lastReplies: number;
}

/**
 * Request and reply rates per element over a fixed window (default 900 points of 1 s: 15 minutes),
 * in ring buffers. It reads the counters the proxy core keeps anyway (`stats.requests`,
 * `stats.replies`), so the SIP path pays nothing for it; {@link sample} is called once per step by
 * a timer in the management layer.
 */
export class RateHistory {
  readonly #capacity: number;
  readonly #stepSeconds: number;
  /** Epoch seconds of each point. */
  readonly #t: Float64Array;
  readonly #series = new Map<string, Series>();
  #head = 0;
  #size = 0;
  /** Epoch ms of the previous sample (undefined before the first). */
  #lastAt: number | undefined;

  /**
   * @param capacity points kept (900 = 15 minutes at 1 s)
   * @param stepSeconds the sampling interval the caller keeps (for the page's axis)
   */
  constructor(capacity = 900, stepSeconds = 1) {
    this.#capacity = capacity;
    this.#stepSeconds = stepSeconds;
    this.#t = new Float64Array(capacity);
  }

  /** Points held now. */
  get size(): number {
    return this.#size;
  }

  /**
   * Records one point: the rate since the previous sample, per element. The first call only sets
   * the baseline. A counter that went down (an element restarted) counts from its new value.
   */
  sample(nowMs: number, counts: readonly RateSample[]): void {
    const prev = this.#lastAt;
    this.#lastAt = nowMs;
    if (prev === undefined || nowMs <= prev) {
      for (const c of counts) {
        const s = this.#seriesOf(c);
        s.lastRequests = c.requests;
        s.lastReplies = c.replies;
      }
      return;
    }
    const dt = (nowMs - prev) / 1000;
    const i = this.#head;
    this.#t[i] = Math.round(nowMs / 1000);
    const seen = new Set<string>();
    for (const c of counts) {
      const s = this.#seriesOf(c);
      seen.add(c.element);
      s.requests[i] = Math.max(0, c.requests - s.lastRequests) / dt;
      s.replies[i] = Math.max(0, c.replies - s.lastReplies) / dt;
      s.lastRequests = c.requests;
      s.lastReplies = c.replies;
    }
    // an element that is gone leaves a gap
    for (const [name, s] of this.#series)
      if (!seen.has(name)) {
        s.requests[i] = Number.NaN;
        s.replies[i] = Number.NaN;
      }
    this.#head = (i + 1) % this.#capacity;
    if (this.#size < this.#capacity) this.#size++;
  }

  /** Every point held, oldest first (`null` where an element has no value). */
  snapshot(): ConsoleRates {
    return this.#range(this.#size);
  }

  /** The newest point only (what the page appends between full snapshots). */
  latest(): ConsoleRates {
    return this.#range(Math.min(1, this.#size));
  }

  #range(n: number): ConsoleRates {
    const start = (this.#head - n + this.#capacity) % this.#capacity;
    const idx = (k: number): number => (start + k) % this.#capacity;
    const t: number[] = [];
    for (let k = 0; k < n; k++) t.push(this.#t[idx(k)] ?? 0);
    const series: Record<string, { requests: (number | null)[]; replies: (number | null)[] }> = {};
    const val = (a: Float64Array, k: number): number | null => {
      const v = a[idx(k)] ?? Number.NaN;
      return Number.isNaN(v) ? null : Math.round(v * 100) / 100;
    };
    for (const [name, s] of this.#series) {
      const requests: (number | null)[] = [];
      const replies: (number | null)[] = [];
      for (let k = 0; k < n; k++) {
        requests.push(val(s.requests, k));
        replies.push(val(s.replies, k));
      }
      series[name] = { requests, replies };
    }
    return { step: this.#stepSeconds, t, series };
  }

  #seriesOf(c: RateSample): Series {
    let s = this.#series.get(c.element);
    if (s === undefined) {
      // points from before this element existed are gaps
      s = {
        requests: new Float64Array(this.#capacity).fill(Number.NaN),
        replies: new Float64Array(this.#capacity).fill(Number.NaN),
        lastRequests: c.requests,
        lastReplies: c.replies,
      };
      this.#series.set(c.element, s);
    }
    return s;
  }
}
