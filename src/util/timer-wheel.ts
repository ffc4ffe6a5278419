/**
 * A hashed timing wheel: O(1) add and cancel, one Node timer for the whole wheel. Transactions,
 * flows and bindings each hold a few timers; with 100k+ of them a `setTimeout` per timer costs a
 * Timeout object and a list operation each, the wheel only a small node.
 */
export interface WheelEntry {
  fn: (() => void) | undefined;
  rounds: number;
  slot: number;
  prev: WheelEntry | undefined;
  next: WheelEntry | undefined;
}

const SLOTS = 2048;

export class TimerWheel {
  readonly #tickMs: number;
  readonly #now: () => number;
  readonly #heads: (WheelEntry | undefined)[] = new Array(SLOTS).fill(undefined);
  #size = 0;
  #tick: number; // last processed tick
  #timer: NodeJS.Timeout | undefined;
  /** Tick the armed Node timer fires at. */
  #armedTick = 0;

  constructor(tickMs: number, now: () => number) {
    this.#tickMs = tickMs;
    this.#now = now;
    this.#tick = Math.floor(now() / tickMs);
  }

  get size(): number {
    return this.#size;
  }

  add(ms: number, fn: () => void): WheelEntry {
    if (this.#size === 0) this.#tick = Math.floor(this.#now() / this.#tickMs);
    // Round up so a timer never fires early.
    const ticks = Math.max(1, Math.ceil((this.#now() + ms) / this.#tickMs) - this.#tick);
    const slot = (this.#tick + ticks) % SLOTS;
    const e: WheelEntry = {
      fn,
      rounds: Math.floor((ticks - 1) / SLOTS),
      slot,
      prev: undefined,
      next: this.#heads[slot],
    };
    if (e.next !== undefined) e.next.prev = e;
    this.#heads[slot] = e;
    this.#size++;
    const at = this.#tick + ticks;
    // sleep until the earliest occupied slot; wake earlier when a sooner timer arrives
    if (this.#timer === undefined || at < this.#armedTick) this.#arm();
    return e;
  }

  cancel(e: WheelEntry): void {
    if (e.fn === undefined) return;
    e.fn = undefined;
    this.#unlink(e);
  }

  #unlink(e: WheelEntry): void {
    if (e.prev !== undefined) e.prev.next = e.next;
    else this.#heads[e.slot] = e.next;
    if (e.next !== undefined) e.next.prev = e.prev;
    e.prev = e.next = undefined;
    this.#size--;
  }

  #arm(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    // the next occupied slot (an entry with rounds left still needs its slot visited)
    let d = 1;
    while (d < SLOTS && this.#heads[(this.#tick + d) % SLOTS] === undefined) d++;
    const now = Math.floor(this.#now() / this.#tickMs);
    this.#armedTick = this.#tick + d;
    const wait = Math.max(1, (this.#armedTick - now) * this.#tickMs);
    this.#timer = setTimeout(this.#onTimer, wait);
    this.#timer.unref();
  }

  #onTimer = (): void => {
    this.#timer = undefined;
    const target = Math.floor(this.#now() / this.#tickMs);
    while (this.#tick < target && this.#size > 0) {
      this.#tick++;
      this.#runSlot(this.#tick % SLOTS);
    }
    if (this.#size === 0) this.#tick = target;
    if (this.#size > 0) this.#arm();
  };

  #runSlot(slot: number): void {
    let e = this.#heads[slot];
    while (e !== undefined) {
      const next = e.next;
      if (e.rounds > 0) {
        e.rounds--;
      } else {
        const fn = e.fn;
        e.fn = undefined;
        this.#unlink(e);
        try {
          fn?.();
        } catch (err) {
          // A timer callback must not kill the wheel; surface it asynchronously like Node would.
          queueMicrotask(() => {
            throw err;
          });
        }
      }
      e = next;
    }
  }
}
