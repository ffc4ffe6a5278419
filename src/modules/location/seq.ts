import type { Clock } from '../../util/clock.js';

/**
 * Hands out {@link Binding.seq} values for new bindings: wall-clock microseconds, strictly
 * increasing within the process. Insertion order therefore holds across registrar processes that
 * share a store (up to their clock skew), and values stay safe integers until the year 2255.
 */
export class SeqSource {
  readonly #clock: Clock;
  #last = 0;
  constructor(clock: Clock) {
    this.#clock = clock;
  }
  next(): number {
    this.#last = Math.max(this.#last + 1, Math.floor(this.#clock.wallNow()) * 1000);
    return this.#last;
  }
}
