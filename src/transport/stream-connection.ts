import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Timer } from '../util/clock.js';
import {
  Connection,
  type ConnectionEvents,
  type ConnectionInit,
  GRACEFUL_CLOSE_MS,
  reasonForSocketError,
} from './connection.js';
import { type FramerSink, type FramingError, StreamFramer } from './stream-framer.js';
import {
  FlowCloseReason,
  FlowState,
  KeepaliveKind,
  type SendErrorCallback,
  type SendErrorCode,
} from './types.js';

/** How the socket of a {@link StreamConnection} becomes ready. */
export const StreamStart = {
  /** An accepted TCP socket: ready now. */
  Accepted: 'accepted',
  /** An accepted socket wrapped in a server TLSSocket: ready on `secure`. */
  TlsAccepted: 'tls-accepted',
  /** An outgoing TCP socket: ready on `connect`. */
  Connecting: 'connecting',
  /** An outgoing TLS socket: ready on `secureConnect`. */
  TlsConnecting: 'tls-connecting',
} as const;
export type StreamStart = (typeof StreamStart)[keyof typeof StreamStart];

/** CRLF pongs written in one go at most: a burst of pings in one read costs a few writes, not one each. */
const PONG_BATCH = 1024;
/** PONG_BATCH pongs; never written to, so every flush can send a slice of it. */
const PONGS = Buffer.from('\r\n'.repeat(PONG_BATCH), 'latin1');

/**
 * A TCP or TLS connection flow: Content-Length framing (RFC 3261 §18.3), the CRLF keep-alive
 * (RFC 5626 §3.5.1, §4.4.1), caps on buffered bytes in both directions. TCP and TLS share all of
 * it; TLS only changes the socket and when it becomes ready.
 */
export class StreamConnection extends Connection {
  readonly #socket: Socket | TLSSocket;
  readonly #startMode: StreamStart;
  readonly #framer: StreamFramer;
  /** onError callbacks of sends queued before an outgoing connection is ready. */
  #pendingErrors: SendErrorCallback[] | undefined;
  #connectTimer: Timer | undefined;
  #failure = 'connection closed';
  /** CRLF pongs owed for pings framed from the current read, not written yet. */
  #pongsDue = 0;

  constructor(
    host: ConnectionEvents,
    init: ConnectionInit,
    socket: Socket | TLSSocket,
    start: StreamStart,
  ) {
    super(host, init);
    this.#socket = socket;
    this.#startMode = start;
    const sink: FramerSink = {
      onFrame: (msg) => {
        // pongs for pings before this message go first, as one write per ping would have sent them
        if (this.#flushPongs()) this.deliver(msg);
      },
      onPing: () => this.#onPing(),
      onFramingError: (e) => this.#onFramingError(e),
    };
    this.#framer = new StreamFramer(sink, {
      maxMessageSize: host.settings.limits.maxMessageSize,
      maxBufferedBytes: host.settings.maxBufferedBytes,
    });
  }

  /** Bytes waiting in the framer for the rest of a message. */
  get bufferedIn(): number {
    return this.#framer.buffered;
  }

  start(): void {
    const s = this.#socket;
    s.on('data', this.#onData);
    s.on('error', this.#onError);
    s.on('end', this.#onEnd);
    s.on('close', this.#onClose);
    switch (this.#startMode) {
      case StreamStart.Accepted:
        s.setNoDelay(true);
        this.markOpen();
        break;
      case StreamStart.TlsAccepted:
        s.once('secure', this.#onReady);
        break;
      case StreamStart.Connecting:
        s.once('connect', this.#onReady);
        this.#armConnectTimer();
        break;
      case StreamStart.TlsConnecting:
        s.once('secureConnect', this.#onReady);
        this.#armConnectTimer();
        break;
    }
  }

  write(buf: Buffer, onError?: SendErrorCallback): SendErrorCode | undefined {
    if (this.state === FlowState.Closed || this.#socket.destroyed) return 'SIP_ERR_FLOW_GONE';
    if (this.#socket.writableLength + buf.length > this.host.settings.maxBufferedBytes) {
      // A peer that does not read: close rather than buffer without bound (Kamailio tcp_conn_wq_max).
      this.#failure = 'send buffer over the cap';
      this.close(FlowCloseReason.Overflow, this.#failure);
      return 'SIP_ERR_TRANSPORT_LIMIT';
    }
    if (onError !== undefined && this.state === FlowState.Connecting) {
      if (this.#pendingErrors === undefined) this.#pendingErrors = [onError];
      else this.#pendingErrors.push(onError);
      this.#socket.write(buf);
    } else if (onError !== undefined) {
      this.#socket.write(buf, (err) => {
        if (err) onError('SIP_ERR_TRANSPORT_SEND', err.message);
      });
    } else {
      this.#socket.write(buf);
    }
    this.noteSent();
    return undefined;
  }

  protected teardown(reason: FlowCloseReason): void {
    this.#framer.stop();
    this.#pongsDue = 0;
    this.host.clock.clearTimer(this.#connectTimer);
    this.#connectTimer = undefined;
    const pending = this.#pendingErrors;
    this.#pendingErrors = undefined;
    if (pending !== undefined) {
      const why =
        reason === FlowCloseReason.Local ? 'connection closed before it was ready' : this.#failure;
      for (const cb of pending) safeCall(cb, why);
    }
    const s = this.#socket;
    if (s.destroyed) return;
    if (
      reason === FlowCloseReason.Lifetime ||
      reason === FlowCloseReason.Local ||
      reason === FlowCloseReason.ProtocolError
    ) {
      // Flush what was written (e.g. the 400 before closing, RFC 3261 §18.3), then FIN.
      s.destroySoon();
      const t = setTimeout(() => s.destroy(), GRACEFUL_CLOSE_MS);
      t.unref();
      s.once('close', () => clearTimeout(t));
    } else {
      s.destroy();
    }
  }

  #armConnectTimer(): void {
    this.#connectTimer = this.host.clock.setTimer(this.host.settings.connectTimeoutMs, () => {
      this.#connectTimer = undefined;
      if (this.state !== FlowState.Connecting) return;
      this.#failure = `connect to ${this.remote.address}:${this.remote.port} timed out`;
      this.close(FlowCloseReason.Error);
    });
  }

  /** Connected (outgoing) or handshake done (TLS): the flow is open. */
  #onReady = (): void => {
    this.host.clock.clearTimer(this.#connectTimer);
    this.#connectTimer = undefined;
    if (this.state !== FlowState.Connecting) return;
    const s = this.#socket;
    s.setNoDelay(true);
    if (this.outgoing && s.localAddress !== undefined && s.localPort !== undefined) {
      this.local = { address: s.localAddress, port: s.localPort };
    }
    // sends queued while connecting were accepted; later failures surface as a socket error
    this.#pendingErrors = undefined;
    this.markOpen();
  };

  #onData = (chunk: Buffer): void => {
    this.noteReceived();
    this.#framer.push(chunk);
    this.#flushPongs();
  };

  // RFC 5626 §3.5.1: a CRLFCRLF ping is answered with a single CRLF pong on the same connection.
  // The pongs of one read are written together (same bytes on the wire as one write per ping).
  #onPing(): void {
    if (this.state === FlowState.Closed) return;
    if (++this.#pongsDue >= PONG_BATCH) this.#flushPongs();
  }

  /** Writes the pongs owed; false when the connection is (or has just been) closed. */
  #flushPongs(): boolean {
    const n = this.#pongsDue;
    this.#pongsDue = 0;
    if (this.state === FlowState.Closed) return false;
    if (n === 0) return true;
    const s = this.#socket;
    if (s.writableLength + 2 * n > this.host.settings.maxBufferedBytes) {
      // A peer that pings but does not read must not make us buffer without bound. Close, as any
      // write over the cap does: every ping needs its pong (RFC 5626 §3.5.1), so skipping would
      // keep a dead flow whose pings hold off the lifetime timer and its slot.
      this.#failure = 'CRLF keep-alive answer over the send-buffer cap';
      this.close(FlowCloseReason.Overflow, this.#failure);
      return false;
    }
    s.write(n === PONG_BATCH ? PONGS : PONGS.subarray(0, 2 * n));
    this.noteSent();
    for (let i = 0; i < n; i++) this.noteKeepalive(KeepaliveKind.Crlf);
    return true;
  }

  #onFramingError(e: FramingError): void {
    if (this.#flushPongs()) this.host.connFramingError(this, e);
  }

  #onError = (err: Error): void => {
    this.#failure = err.message;
    this.host.logger.debug({ flowId: this.id, err: err.message }, 'transport: socket error');
    this.close(reasonForSocketError(err));
  };

  #onEnd = (): void => {
    // the peer closed its side (FIN): the flow is over
    this.close(FlowCloseReason.Remote);
  };

  #onClose = (): void => {
    this.close(FlowCloseReason.Remote);
  };
}

function safeCall(cb: SendErrorCallback, why: string): void {
  try {
    cb('SIP_ERR_TRANSPORT_SEND', why);
  } catch {
    // a failing callback must not break the socket handler
  }
}
