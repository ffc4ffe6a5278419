import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { SipMessage } from '../../message/message.js';
import type { MessageInEvent, MessageOutEvent } from '../../transport/message-events.js';
import type { Address, FlowId, FlowInfo, ListenerInfo, Proto } from '../../transport/types.js';

/** One SIP message an element received or sent, as capture and the live trace see it. */
export interface CapturedMessage {
  /** The element (its name). */
  readonly element: string;
  readonly direction: 'in' | 'out';
  readonly proto: Proto;
  readonly src: Address;
  readonly dst: Address;
  /** Wall-clock time in microseconds since the epoch. */
  readonly timeUs: number;
  /** The bytes exactly as received or sent. */
  readonly bytes: Buffer;
  readonly flowId: FlowId;
  /** The scanned message (received messages only; sent bytes are not scanned again). */
  readonly msg: SipMessage | undefined;
}

/** What a {@link MessageTap} needs of its element. */
export interface TapSource {
  readonly name: string;
  /** The element's listeners (read when a message is seen: they exist once it listens). */
  readonly transport: {
    readonly listeners: readonly ListenerInfo[];
    getFlow?(id: FlowId): FlowInfo | undefined;
  };
}

/** Receives captured messages; must not throw (a throw is caught and ignored). */
export type TapSink = (m: CapturedMessage) => void;

const CH_IN = 'flowgate:message:in';
const CH_OUT = 'flowgate:message:out';

let base = Date.now() - performance.now();
let checkedAt = performance.now();

/**
 * Wall-clock microseconds with sub-millisecond resolution: the monotonic clock, re-anchored to
 * the wall clock (at most once a second) when they drift apart by more than 2 ms (an NTP step).
 */
export function wallMicros(): number {
  const p = performance.now();
  if (p - checkedAt > 1000) {
    checkedAt = p;
    const b = Date.now() - p;
    if (Math.abs(b - base) > 2) base = b;
  }
  return Math.floor((base + p) * 1000);
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

/**
 * The messages one element receives and sends, taken from the transport layer's diagnostics
 * channels (`flowgate:message:in` / `flowgate:message:out`). The tap subscribes only while it has
 * sinks, so with capture and trace off the transport's send and receive paths publish nothing (a
 * channel without subscribers costs one property read). Messages of the process's other elements
 * are told apart by their listener.
 */
export class MessageTap {
  readonly #source: TapSource;
  readonly #sinks = new Set<TapSink>();
  #listeners: ReadonlySet<ListenerInfo> = new Set();
  #listenerList: readonly ListenerInfo[] = [];

  readonly #onIn = (m: unknown): void => {
    const e = m as MessageInEvent;
    const info = e.info;
    if (!this.#mine(info.listener)) return;
    let dst: Address = info.local;
    if (isWildcard(dst.address)) {
      // the connection's own local address; a UDP listener on any address cannot tell which of
      // the host's addresses a datagram was sent to
      const f = this.#source.transport.getFlow?.(info.flowId);
      if (f !== undefined && !isWildcard(f.local.address)) dst = f.local;
    }
    this.#emit({
      element: this.#source.name,
      direction: 'in',
      proto: info.proto,
      src: info.remote,
      dst,
      timeUs: wallMicros(),
      bytes: e.msg.buf,
      flowId: info.flowId,
      msg: e.msg,
    });
  };

  readonly #onOut = (m: unknown): void => {
    const e = m as MessageOutEvent;
    if (e.listener === undefined || !this.#mine(e.listener)) return;
    this.#emit({
      element: this.#source.name,
      direction: 'out',
      proto: e.proto,
      src: e.local,
      dst: e.remote,
      timeUs: wallMicros(),
      bytes: e.buf,
      flowId: e.flowId,
      msg: undefined,
    });
  };

  constructor(source: TapSource) {
    this.#source = source;
  }

  /** The element's name. */
  get element(): string {
    return this.#source.name;
  }

  /** Sinks attached now. */
  get sinkCount(): number {
    return this.#sinks.size;
  }

  /** Adds a sink (the tap subscribes with the first); returns the function that removes it. */
  add(sink: TapSink): () => void {
    this.#sinks.add(sink);
    if (this.#sinks.size === 1) {
      subscribe(CH_IN, this.#onIn);
      subscribe(CH_OUT, this.#onOut);
    }
    return () => this.remove(sink);
  }

  /** Removes a sink (the tap unsubscribes with the last). */
  remove(sink: TapSink): void {
    if (!this.#sinks.delete(sink) || this.#sinks.size > 0) return;
    unsubscribe(CH_IN, this.#onIn);
    unsubscribe(CH_OUT, this.#onOut);
  }

  /** Removes every sink. */
  close(): void {
    for (const s of [...this.#sinks]) this.remove(s);
  }

  #mine(l: ListenerInfo): boolean {
    const list = this.#source.transport.listeners;
    if (list !== this.#listenerList) {
      this.#listenerList = list;
      this.#listeners = new Set(list);
    }
    return this.#listeners.has(l);
  }

  #emit(c: CapturedMessage): void {
    for (const s of this.#sinks) {
      try {
        s(c);
      } catch {
        // a sink's failure must not reach the transport's send or receive path
      }
    }
  }
}
