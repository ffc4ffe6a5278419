import type { Timer } from '../util/clock.js';
import { channels } from '../util/diagnostics.js';
import { type TransactionHost, TxState } from './types.js';

/** What every transaction shares: its key, state and timers (set on enter, cleared on leave). */
export abstract class Transaction {
  readonly key: string;
  /** Monotonic ms (Clock.now) the transaction was created (management views show its age). */
  readonly createdAt: number;
  protected readonly layer: TransactionHost;
  #state: TxState;
  #timers: (Timer | undefined)[] = [];

  constructor(layer: TransactionHost, key: string, initial: TxState) {
    this.layer = layer;
    this.key = key;
    this.createdAt = layer.clock.now();
    this.#state = initial;
  }

  get state(): TxState {
    return this.#state;
  }

  abstract get kind(): 'ict' | 'nict' | 'ist' | 'nist';

  protected setState(next: TxState): void {
    if (next === this.#state) return;
    const prev = this.#state;
    this.#state = next;
    if (channels.txState.hasSubscribers)
      channels.txState.publish({ key: this.key, kind: this.kind, from: prev, to: next });
    if (next === TxState.Terminated) {
      this.clearTimers();
      this.onTerminated();
    }
  }

  /** Starts timer `slot` (A..M letters mapped to small indexes by each class), replacing any running one. */
  protected startTimer(slot: number, ms: number, fn: () => void): void {
    const clock = this.layer.clock;
    clock.clearTimer(this.#timers[slot]);
    this.#timers[slot] = clock.setTimer(ms, () => {
      this.#timers[slot] = undefined;
      if (this.#state !== TxState.Terminated) fn();
    });
  }

  protected stopTimer(slot: number): void {
    this.layer.clock.clearTimer(this.#timers[slot]);
    this.#timers[slot] = undefined;
  }

  protected clearTimers(): void {
    for (let i = 0; i < this.#timers.length; i++) this.layer.clock.clearTimer(this.#timers[i]);
    this.#timers.length = 0;
  }

  /** Removes the transaction from the layer's table. */
  protected abstract onTerminated(): void;

  /** Ends the transaction at once (shutdown, or the TU no longer needs it). */
  terminate(): void {
    this.setState(TxState.Terminated);
  }
}
