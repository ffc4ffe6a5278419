import { randomBytes } from 'node:crypto';
import type { Clock } from '../../util/clock.js';

/**
 * Hands out binding ruids (Kamailio `sruid`, outbound.md §2.1): `uloc-<start time>-<process>-<n>`
 * in hex. The start time (wall-clock seconds) and 24 random bits tell registrar processes sharing a
 * store apart; `n` counts up. Only `[0-9a-z-]` is used, so a ruid fits into a URI user part (temp-GRUU)
 * and never contains the `.` that ends it there.
 */
export class RuidSource {
  readonly #prefix: string;
  #n = 0;

  constructor(clock: Clock) {
    const start = Math.floor(clock.wallNow() / 1000) >>> 0;
    this.#prefix = `uloc-${start.toString(16)}-${randomBytes(3).toString('hex')}-`;
  }

  /** A new ruid. */
  next(): string {
    this.#n++;
    return `${this.#prefix}${this.#n.toString(16)}`;
  }
}
