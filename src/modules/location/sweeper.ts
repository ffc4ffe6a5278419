import type { Clock, Timer } from '../../util/clock.js';
import { type Logger, RateLimitedLog } from '../../util/logger.js';

/** Kamailio usrloc `timer_interval`: purge expired bindings every 60 s. */
export const DEFAULT_SWEEP_INTERVAL_MS = 60_000;

/**
 * Runs a store's purge on a {@link Clock} timer every `intervalMs` (fixed rate), never two runs at
 * once: a tick that finds the previous run still busy is skipped. A failing run (backend down) is
 * logged (at most once a minute) and the timer keeps going. The clock's timers do not keep the
 * process alive (RealClock's wheel is unref'd); `stop()` cancels the pending one.
 */
export class Sweeper {
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #run: () => unknown;
  readonly #logger: Logger;
  readonly #errorLog = new RateLimitedLog(60_000);
  #timer: Timer | undefined;
  #busy = false;

  /**
   * @param run the purge: synchronous (in-process backends, so a ManualClock advance purges at once)
   *   or returning a promise (network backends).
   */
  constructor(
    options: { readonly clock: Clock; readonly sweepIntervalMs: number; readonly logger: Logger },
    run: () => unknown,
  ) {
    this.#clock = options.clock;
    this.#intervalMs = options.sweepIntervalMs;
    this.#logger = options.logger;
    this.#run = run;
  }

  /** Schedules the first run `intervalMs` from now; no-op when already started. */
  start(): void {
    if (this.#timer === undefined) this.#schedule();
  }

  /** Cancels the pending run; a run in progress completes. */
  stop(): void {
    this.#clock.clearTimer(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimer(this.#intervalMs, () => {
      // Re-arm first, so a ManualClock.advance() over several intervals fires every one of them.
      this.#schedule();
      if (!this.#busy) this.#tick();
    });
  }

  #failed(err: unknown): void {
    this.#errorLog.log(
      this.#logger,
      'warn',
      'purge',
      { err },
      'location: purge of expired bindings failed',
    );
  }

  #tick(): void {
    let result: unknown;
    try {
      result = this.#run();
    } catch (err) {
      this.#failed(err);
      return;
    }
    if (result instanceof Promise) {
      this.#busy = true;
      void result.then(
        () => {
          this.#busy = false;
        },
        (err: unknown) => {
          this.#busy = false;
          this.#failed(err);
        },
      );
    }
  }
}
