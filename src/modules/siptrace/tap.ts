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
const CH_OPEN = 'flowgate:flow:open';
const CH_CLOSE = 'flowgate:flow:close';
/** Connection flows whose local address the tap keeps (cleared beyond this: re-learnt). */
const MAX_STREAM_FLOWS = 65_536;
/** Outgoing connections still connecting with messages waiting; beyond this, dead ones are swept. */
const SWEEP_CONNECTING = 32;

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
  /**
   * The local address of each connection flow seen: what a message received on it was sent to.
   * The receive path reports the listener's address, which for an outgoing connection is not the
   * socket's (its port is an ephemeral one) and for a listener on any address is not an address.
   */
  readonly #streamLocal = new Map<FlowId, Address>();
  /**
   * Messages sent on outgoing connections that were still connecting (their source port is not
   * known yet): captured once the connection is open, with their own time.
   */
  readonly #connecting = new Map<FlowId, CapturedMessage[]>();

  readonly #onIn = (m: unknown): void => {
    const e = m as MessageInEvent;
    const info = e.info;
    if (!this.#mine(info.listener)) return;
    let dst: Address = info.local;
    if (info.proto !== 'udp') dst = this.#localOf(info.flowId) ?? dst;
    else if (isWildcard(dst.address)) {
      // a UDP listener on any address cannot tell which of the host's addresses a datagram was
      // sent to (its flow says what it can)
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
    const c: CapturedMessage = {
      element: this.#source.name,
      direction: 'out',
      proto: e.proto,
      src: e.local,
      dst: e.remote,
      timeUs: wallMicros(),
      bytes: e.buf,
      flowId: e.flowId,
      msg: undefined,
    };
    if (e.local.port === 0 && e.proto !== 'udp') this.#waitConnected(c);
    else this.#emit(c);
  };

  readonly #onOpen = (m: unknown): void => {
    const f = m as FlowInfo;
    if (f.proto === 'udp' || !this.#mine(f.listener)) return;
    this.#remember(f.id, f.local);
    const waiting = this.#connecting.get(f.id);
    if (waiting === undefined) return;
    this.#connecting.delete(f.id);
    for (const c of waiting) this.#emit({ ...c, src: f.local });
  };

  readonly #onClose = (m: unknown): void => {
    const id = (m as { flow: FlowInfo }).flow.id;
    this.#streamLocal.delete(id);
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
    // a sink added again (capture switched on while on) must not subscribe the tap twice: every
    // message would then reach every sink twice
    if (this.#sinks.has(sink)) return () => this.remove(sink);
    this.#sinks.add(sink);
    if (this.#sinks.size === 1) {
      subscribe(CH_IN, this.#onIn);
      subscribe(CH_OUT, this.#onOut);
      subscribe(CH_OPEN, this.#onOpen);
      subscribe(CH_CLOSE, this.#onClose);
    }
    return () => this.remove(sink);
  }

  /** Removes a sink (the tap unsubscribes with the last). */
  remove(sink: TapSink): void {
    if (!this.#sinks.delete(sink) || this.#sinks.size > 0) return;
    unsubscribe(CH_IN, this.#onIn);
    unsubscribe(CH_OUT, this.#onOut);
    unsubscribe(CH_OPEN, this.#onOpen);
    unsubscribe(CH_CLOSE, this.#onClose);
    // flows open and close unseen from now on
    this.#streamLocal.clear();
    this.#connecting.clear();
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

  /** The local address of a connection flow (undefined: not known, use the listener's). */
  #localOf(id: FlowId): Address | undefined {
    const known = this.#streamLocal.get(id);
    if (known !== undefined) return known;
    const f = this.#source.transport.getFlow?.(id);
    if (f === undefined || f.local.port === 0 || isWildcard(f.local.address)) return undefined;
    this.#remember(id, f.local);
    return f.local;
  }

  #remember(id: FlowId, local: Address): void {
    if (local.port === 0 || isWildcard(local.address)) return;
    if (this.#streamLocal.size >= MAX_STREAM_FLOWS) this.#streamLocal.clear();
    this.#streamLocal.set(id, local);
  }

  /** Holds a message sent while its connection connects (see {@link #connecting}). */
  #waitConnected(c: CapturedMessage): void {
    const list = this.#connecting.get(c.flowId);
    if (list !== undefined) {
      list.push(c);
      return;
    }
    if (this.#connecting.size >= SWEEP_CONNECTING) {
      // connections that never opened (refused, timed out) publish no close: their messages go
      // as they are, source port 0
      for (const [id, waiting] of this.#connecting) {
        if (this.#source.transport.getFlow?.(id) !== undefined) continue;
        this.#connecting.delete(id);
        for (const w of waiting) this.#emit(w);
      }
    }
    this.#connecting.set(c.flowId, [c]);
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
