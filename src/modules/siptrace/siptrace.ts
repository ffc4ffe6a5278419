import { type Logger, noopLogger } from '../../util/logger.js';
import {
  type CollectorAddress,
  formatCollector,
  HepSender,
  type HepSenderOptions,
  parseCollectorUri,
} from './collector.js';
import { type ByteSpan, HepProtoType, IpProto } from './hep.js';
import { callIdSpan } from './sip-text.js';
import type { CapturedMessage, MessageTap } from './tap.js';

/**
 * The Call-ID of a captured message as the correlation id: the scanned message's (received, and
 * ASCII as RFC 3261 §25.1 `word` makes it), else where it is in the bytes. The scanner reads octets
 * as latin1, so a Call-ID with other octets goes as its bytes, as a sent message's does.
 */
function correlationOf(m: CapturedMessage): string | ByteSpan | undefined {
  const id = m.msg?.callId;
  if (id === undefined) return callIdSpan(m.bytes);
  for (let i = 0; i < id.length; i++) if (id.charCodeAt(i) > 0x7f) return callIdSpan(m.bytes);
  return id;
}

/** `modparam("siptrace", …)` of one element, Kamailio names (HEPv3 only: `hep_mode_on` is implied). */
export interface SiptraceParams {
  /** The HEP collector: `udp:host:port`, `tcp:host:port` or `sip:host:port[;transport=tcp]`. */
  readonly duplicate_uri: string;
  /** The capture agent id written into every packet (Kamailio `hep_capture_id`, default 1). */
  readonly hep_capture_id: number;
  /** Shared key the collector checks (HEP chunk 0x000e); undefined: none. */
  readonly auth_key: string | undefined;
  /** Capture from start (Kamailio `trace_on`); the management API switches it at run time. */
  readonly trace_on: boolean;
}

/** What `GET /v1/capture` shows of an element. */
export interface SiptraceStatus {
  readonly enabled: boolean;
  readonly collector: string;
  readonly hep_capture_id: number;
  /** Packets sent, dropped (collector away or not reading, or too long for HEP), socket errors. */
  readonly sent: number;
  readonly dropped: number;
  readonly errors: number;
  /** TCP: connected to the collector now; UDP: the socket is open. */
  readonly connected: boolean;
  /** Why capture could not start (the collector's name did not resolve), if it could not. */
  readonly error: string | null;
}

/**
 * SIP capture of one element (Kamailio `siptrace` with `hep_mode_on`): every SIP message the
 * element receives and sends goes to a HEP collector as a HEPv3 packet with source and
 * destination address and port, transport (UDP 17; TCP, TLS and WebSocket 6), a microsecond
 * timestamp, the capture id, the optional auth key and the Call-ID as correlation id. The bytes
 * are the message exactly as received or sent. Taken from the element's {@link MessageTap}, so
 * with capture off nothing is added to the send and receive paths.
 */
export class SipTrace {
  readonly params: SiptraceParams;
  readonly collector: CollectorAddress;
  readonly #tap: MessageTap;
  readonly #sender: HepSender;
  readonly #log: Logger;
  #enabled = false;
  #opened: Promise<void> | undefined;
  #error: string | null = null;
  readonly #sink = (m: CapturedMessage): void => this.#capture(m);

  /**
   * @throws Error when `duplicate_uri` is not a collector address (the configuration checks it first)
   */
  constructor(
    tap: MessageTap,
    params: SiptraceParams,
    opts: { logger?: Logger | undefined; sender?: HepSenderOptions | undefined } = {},
  ) {
    const c = parseCollectorUri(params.duplicate_uri);
    if (!c.ok) throw new Error(`siptrace duplicate_uri ${c.message}`);
    this.params = params;
    this.collector = c.value;
    this.#tap = tap;
    this.#log = (opts.logger ?? noopLogger).child({ module: 'siptrace' });
    this.#sender = new HepSender(c.value, { logger: this.#log, ...opts.sender });
  }

  /** Capture is on. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /** Starts capture when `trace_on` says so (called once the element listens). */
  async start(): Promise<void> {
    if (this.params.trace_on) await this.setEnabled(true);
  }

  /**
   * Switches capture on or off (Kamailio `siptrace.status on|off`). On: opens the socket to the
   * collector first (once); when its name does not resolve, capture stays off and the error is
   * in {@link status}.
   */
  async setEnabled(on: boolean): Promise<void> {
    if (!on) {
      if (this.#enabled) this.#log.info({}, 'siptrace: capture off');
      this.#enabled = false;
      this.#tap.remove(this.#sink);
      return;
    }
    try {
      this.#opened ??= this.#sender.open();
      await this.#opened;
      this.#error = null;
    } catch (e) {
      this.#opened = undefined;
      this.#error = e instanceof Error ? e.message : String(e);
      this.#log.error(
        { err: this.#error, collector: formatCollector(this.collector) },
        'siptrace: cannot open the HEP collector; capture stays off',
      );
      return;
    }
    if (!this.#enabled)
      this.#log.info({ collector: formatCollector(this.collector) }, 'siptrace: capture on');
    this.#enabled = true;
    this.#tap.add(this.#sink);
  }

  status(): SiptraceStatus {
    const s = this.#sender.stats();
    return {
      enabled: this.#enabled,
      collector: formatCollector(this.collector),
      hep_capture_id: this.params.hep_capture_id,
      sent: s.sent,
      dropped: s.dropped,
      errors: s.errors,
      connected: s.connected,
      error: this.#error,
    };
  }

  /** Stops capture and closes the socket to the collector. */
  async close(): Promise<void> {
    this.#enabled = false;
    this.#tap.remove(this.#sink);
    await this.#sender.close();
  }

  #capture(m: CapturedMessage): void {
    const us = m.timeUs;
    const sec = Math.floor(us / 1_000_000);
    this.#sender.sendPacket({
      family: 4,
      ipProto: m.proto === 'udp' ? IpProto.Udp : IpProto.Tcp,
      src: m.src,
      dst: m.dst,
      timeSec: sec,
      timeUsec: us - sec * 1_000_000,
      protoType: HepProtoType.Sip,
      captureId: this.params.hep_capture_id,
      authKey: this.params.auth_key,
      payload: m.bytes,
      correlationId: correlationOf(m),
    });
  }
}
