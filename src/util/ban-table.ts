/** What one hit did. */
export type BanVerdict = 'ok' | 'banned-now' | 'banned';

interface Entry {
  windowStart: number;
  count: number;
  bannedUntil: number;
}

/**
 * Counts events per key in fixed windows and bans a key that exceeds `limit` within one window for
 * `banMs` (Kamailio pike's idea: a density threshold per sampling unit, then a block). Memory is
 * bounded: idle entries are swept, and past `maxEntries` the oldest are dropped first.
 */
export class BanTable {
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #banMs: number;
  readonly #now: () => number;
  readonly #maxEntries: number;
  readonly #entries = new Map<string, Entry>();
  #lastSweep = 0;
  /** The latest end of any ban: after it nothing is banned, and {@link banned} needs no lookup. */
  #banHorizon = 0;
  /** Bans started so far. */
  bans = 0;

  constructor(
    limit: number,
    windowMs: number,
    banMs: number,
    now: () => number,
    maxEntries = 200_000,
  ) {
    this.#limit = limit;
    this.#windowMs = windowMs;
    this.#banMs = banMs;
    this.#now = now;
    this.#maxEntries = maxEntries;
  }

  /** Counts one event for `key`. */
  hit(key: string): BanVerdict {
    const now = this.#now();
    let e = this.#entries.get(key);
    if (e === undefined) {
      if (this.#entries.size >= this.#maxEntries) this.#sweep(now, true);
      e = { windowStart: now, count: 0, bannedUntil: 0 };
      this.#entries.set(key, e);
    } else if (now - this.#lastSweep > 10_000) this.#sweep(now, false);
    if (e.bannedUntil > now) return 'banned';
    if (now - e.windowStart >= this.#windowMs) {
      e.windowStart = now;
      e.count = 0;
    }
    e.count++;
    if (e.count > this.#limit) {
      e.bannedUntil = now + this.#banMs;
      if (e.bannedUntil > this.#banHorizon) this.#banHorizon = e.bannedUntil;
      e.count = 0;
      this.bans++;
      return 'banned-now';
    }
    return 'ok';
  }

  /** `key` is banned now (no event counted). */
  banned(key: string): boolean {
    if (this.#banHorizon === 0) return false;
    const now = this.#now();
    if (now >= this.#banHorizon) return false;
    const e = this.#entries.get(key);
    return e !== undefined && e.bannedUntil > now;
  }

  /** Lifts the ban of `key` and forgets its count (an exempt source that crossed the limit). */
  pardon(key: string): void {
    const e = this.#entries.get(key);
    if (e === undefined) return;
    e.bannedUntil = 0;
    e.count = 0;
    this.bans--;
  }

  /** Keys banned now. */
  activeBans(): number {
    const now = this.#now();
    let n = 0;
    for (const e of this.#entries.values()) if (e.bannedUntil > now) n++;
    return n;
  }

  /** Lifts every ban and forgets every count. */
  clear(): void {
    this.#entries.clear();
  }

  #sweep(now: number, force: boolean): void {
    this.#lastSweep = now;
    for (const [k, e] of this.#entries)
      if (e.bannedUntil <= now && now - e.windowStart >= this.#windowMs) this.#entries.delete(k);
    if (force && this.#entries.size >= this.#maxEntries) {
      // still full of live entries: drop the oldest quarter (insertion order), never the banned first
      let drop = this.#maxEntries >> 2;
      for (const [k, e] of this.#entries) {
        if (drop <= 0) break;
        if (e.bannedUntil > now) continue;
        this.#entries.delete(k);
        drop--;
      }
    }
  }
}
