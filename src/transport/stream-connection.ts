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

const CRLF = Buffer.from('\r\n', 'latin1');

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
      onFrame: (msg) => this.deliver(msg),
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
      this.close(FlowCloseReason.Overflow);
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
  };

  // RFC 5626 §3.5.1: a CRLFCRLF ping is answered with a single CRLF pong on the same connection.
  #onPing(): void {
    if (this.state === FlowState.Closed) return;
    this.#socket.write(CRLF);
    this.noteSent();
    this.noteKeepalive(KeepaliveKind.Crlf);
  }

  #onFramingError(e: FramingError): void {
    this.host.connFramingError(this, e);
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
