import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import type { Timer } from '../util/clock.js';
import {
  Connection,
  type ConnectionEvents,
  type ConnectionInit,
  GRACEFUL_CLOSE_MS,
} from './connection.js';
import type { ConnectionHost } from './internal.js';
import {
  FlowCloseReason,
  FlowState,
  KeepaliveKind,
  RefuseReason,
  type SendErrorCallback,
  type SendErrorCode,
} from './types.js';

/**
 * SIP over WebSocket (RFC 7118): an HTTP(S) upgrade that must offer the `sip` subprotocol, one
 * SIP message per frame, CRLF keep-alive frames, and the server's Ping keep-alive
 * (outbound.md §1.11.3). Outgoing WebSocket connections are not supported.
 */

/** RFC 7118 §4: the registered WebSocket subprotocol for SIP. */
export const SIP_SUBPROTOCOL = 'sip';

const CRLF = Buffer.from('\r\n', 'latin1');
/** Bytes of a server frame header for a payload of at most 125 bytes (RFC 6455 §5.2: unmasked). */
const SMALL_FRAME_HEADER = 2;

/** Called for each accepted WebSocket; `socket` is the raw (or TLS) socket under it. */
export type OnWebSocket = (
  ws: WebSocket,
  socket: Duplex,
  req: IncomingMessage,
  acceptedAt: number,
) => void;

interface PendingSocket {
  readonly acceptedAt: number;
  timer: Timer | undefined;
}

/**
 * The HTTP side of one WS/WSS listener. It never listens itself: the transport layer accepts the
 * TCP socket (and wraps it in TLS for WSS), applies the connection caps, then hands it here.
 */
export class WsAcceptor {
  readonly #host: ConnectionHost;
  readonly #http: Server;
  readonly #wss: WebSocketServer;
  readonly #onWebSocket: OnWebSocket;
  readonly #pending = new Map<Duplex, PendingSocket>();

  constructor(host: ConnectionHost, onWebSocket: OnWebSocket) {
    this.#host = host;
    this.#onWebSocket = onWebSocket;
    this.#wss = new WebSocketServer({
      noServer: true,
      clientTracking: false,
      perMessageDeflate: false,
      maxPayload: host.settings.limits.maxMessageSize,
      // WsConnection answers Pings itself, within the send-buffer cap (ws would always answer)
      autoPong: false,
      handleProtocols: (offered) => (offered.has(SIP_SUBPROTOCOL) ? SIP_SUBPROTOCOL : false),
    });
    this.#wss.on('error', () => {});
    this.#http = createServer();
    this.#http.on('request', this.#onRequest);
    this.#http.on('upgrade', this.#onUpgrade);
    this.#http.on('clientError', (_err: Error, socket: Duplex) => {
      host.counters.refused(RefuseReason.WsHandshake);
      socket.destroy();
    });
  }

  /** Sockets accepted but not upgraded yet. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /**
   * Takes an accepted (and, for WSS, TLS-wrapped) socket. It must finish the HTTP upgrade and then
   * send a first SIP message within the first-message deadline counted from `acceptedAt`.
   */
  accept(socket: Duplex, acceptedAt: number): void {
    const clock = this.#host.clock;
    const entry: PendingSocket = { acceptedAt, timer: undefined };
    const left = this.#host.settings.firstMessageTimeoutMs - (clock.now() - acceptedAt);
    entry.timer = clock.setTimer(Math.max(0, left), () => {
      entry.timer = undefined;
      if (this.#pending.delete(socket)) {
        this.#host.counters.connectionsClosed[FlowCloseReason.FirstMessageTimeout]++;
        socket.destroy();
      }
    });
    this.#pending.set(socket, entry);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => this.#forget(socket));
    this.#http.emit('connection', socket);
  }

  /** Drops every socket still in its HTTP phase (shutdown). */
  destroyPending(): void {
    for (const s of [...this.#pending.keys()]) {
      this.#forget(s);
      s.destroy();
    }
  }

  #forget(socket: Duplex): void {
    const e = this.#pending.get(socket);
    if (e === undefined) return;
    this.#host.clock.clearTimer(e.timer);
    this.#pending.delete(socket);
  }

  #onRequest = (_req: IncomingMessage, res: ServerResponse): void => {
    // Not an upgrade: this port speaks only SIP over WebSocket.
    this.#host.counters.refused(RefuseReason.WsHandshake);
    const body = 'SIP over WebSocket only (RFC 7118)\n';
    res.writeHead(426, {
      Connection: 'close',
      Upgrade: 'websocket',
      'Content-Type': 'text/plain',
      'Content-Length': body.length,
    });
    res.end(body);
  };

  #onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const entry = this.#pending.get(socket);
    if (entry === undefined) {
      socket.destroy();
      return;
    }
    // RFC 7118 §4: the client MUST offer "sip"; refuse a handshake without it (RFC 6455 §4.2.2)
    if (!offersSip(req.headers['sec-websocket-protocol'])) {
      this.#host.counters.refused(RefuseReason.WsSubprotocol);
      this.#forget(socket);
      socket.end(
        'HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: 36\r\n\r\nSec-WebSocket-Protocol: sip required',
      );
      return;
    }
    this.#wss.handleUpgrade(req, socket, head, (ws) => {
      if (!this.#pending.has(socket)) {
        ws.terminate();
        return;
      }
      this.#forget(socket);
      this.#onWebSocket(ws, socket, req, entry.acceptedAt);
    });
  };
}

/** True when the Sec-WebSocket-Protocol list offers `sip`. */
function offersSip(h: string | string[] | undefined): boolean {
  if (h === undefined) return false;
  const list = Array.isArray(h) ? h.join(',') : h;
  for (const p of list.split(',')) if (p.trim() === SIP_SUBPROTOCOL) return true;
  return false;
}

/** True for the CRLF keep-alive payloads `\r\n` and `\r\n\r\n`. */
function isCrlfKeepalive(b: Buffer): boolean {
  if (b.length === 2) return b[0] === 0x0d && b[1] === 0x0a;
  if (b.length === 4) return b[0] === 0x0d && b[1] === 0x0a && b[2] === 0x0d && b[3] === 0x0a;
  return false;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * One WebSocket connection flow. Every text or binary frame is one SIP message (RFC 7118 §5.1);
 * messages to the peer use the frame type it used last (text by default; binary when the bytes are
 * not UTF-8, since a text frame must be).
 */
export class WsConnection extends Connection {
  readonly #ws: WebSocket;
  #binary = false;
  #kaTimer: Timer | undefined;
  #awaitingPong = false;
  #pingSentAt = 0;

  constructor(host: ConnectionEvents, init: ConnectionInit, ws: WebSocket) {
    super(host, init);
    this.#ws = ws;
  }

  start(): void {
    const ws = this.#ws;
    ws.on('message', this.#onMessage);
    ws.on('ping', this.#onPing);
    ws.on('pong', this.#onPong);
    ws.on('error', this.#onError);
    ws.on('close', this.#onClose);
    this.#kaTimer = this.host.clock.setTimer(
      this.host.settings.wsKeepaliveTimeoutMs,
      this.#onKeepaliveCheck,
    );
    this.markOpen();
  }

  write(buf: Buffer, onError?: SendErrorCallback): SendErrorCode | undefined {
    const ws = this.#ws;
    if (this.state === FlowState.Closed || ws.readyState !== WebSocket.OPEN)
      return 'SIP_ERR_FLOW_GONE';
    if (ws.bufferedAmount + buf.length > this.host.settings.maxBufferedBytes) {
      this.close(FlowCloseReason.Overflow, 'send buffer over the cap');
      return 'SIP_ERR_TRANSPORT_LIMIT';
    }
    const binary = this.#binary || !isUtf8(buf);
    if (onError !== undefined) {
      ws.send(buf, { binary }, (err) => {
        if (err) onError('SIP_ERR_TRANSPORT_SEND', err.message);
      });
    } else ws.send(buf, { binary });
    this.noteSent();
    return undefined;
  }

  protected teardown(reason: FlowCloseReason): void {
    this.host.clock.clearTimer(this.#kaTimer);
    this.#kaTimer = undefined;
    const ws = this.#ws;
    if (ws.readyState === WebSocket.CLOSED) return;
    if (
      reason === FlowCloseReason.Local ||
      reason === FlowCloseReason.Lifetime ||
      reason === FlowCloseReason.ProtocolError
    ) {
      // a Close frame (1001 going away; 1002 protocol error), then drop the socket if the peer stalls
      ws.close(reason === FlowCloseReason.ProtocolError ? 1002 : 1001);
      const t = setTimeout(() => ws.terminate(), GRACEFUL_CLOSE_MS);
      t.unref();
      ws.once('close', () => clearTimeout(t));
    } else {
      ws.terminate();
    }
  }

  #onMessage = (data: RawData, isBinary: boolean): void => {
    this.noteReceived();
    if (this.state === FlowState.Closed) return;
    const buf = toBuffer(data);
    this.#binary = isBinary;
    if (isCrlfKeepalive(buf)) {
      // outbound.md §1.11.3: a `\r\n` or `\r\n\r\n` frame is answered with a `\r\n` frame of the
      // same type and not parsed as SIP
      if (this.#overCap(SMALL_FRAME_HEADER + CRLF.length)) {
        // A peer that sends keep-alives but does not read: close, as a write over the cap does.
        // The answer is owed to every such frame, so skipping it would keep a dead flow whose
        // keep-alives hold off the lifetime timer and its slot.
        this.close(FlowCloseReason.Overflow, 'CRLF keep-alive answer over the send-buffer cap');
        return;
      }
      this.#ws.send(CRLF, { binary: isBinary });
      this.noteSent();
      this.noteKeepalive(KeepaliveKind.WsCrlf);
      return;
    }
    this.deliver(buf);
  };

  // RFC 6455 §5.5.2: a Ping is answered with a Pong carrying the same payload (autoPong is off so
  // that the answer can obey the send-buffer cap).
  #onPing = (data: Buffer): void => {
    this.noteReceived();
    if (this.state === FlowState.Closed || this.#ws.readyState !== WebSocket.OPEN) return;
    if (this.#overCap(SMALL_FRAME_HEADER + data.length)) {
      // The output is backed up to the cap: leave this Ping unanswered (counted, logged once per
      // burst), but keep the flow. RFC 6455 §5.5.3 already lets an endpoint whose earlier Pongs
      // are still unsent skip some; a SIP message that meets the full buffer closes it anyway.
      this.host.connKeepaliveOverCap(this, KeepaliveKind.WsPing);
      return;
    }
    try {
      this.#ws.pong(data);
    } catch {
      // not open any more: the close event follows
      return;
    }
    this.noteSent();
    this.noteKeepalive(KeepaliveKind.WsPing);
  };

  /** True when `bytes` more would take the output to the peer past `maxBufferedBytes`. */
  #overCap(bytes: number): boolean {
    return this.#ws.bufferedAmount + bytes > this.host.settings.maxBufferedBytes;
  }

  #onPong = (): void => {
    this.noteReceived();
    this.#awaitingPong = false;
  };

  /**
   * outbound.md §1.11.3 (Kamailio websocket keepalive_mechanism 1): idle for `wsKeepaliveTimeout`
   * → send a Ping; still no Pong (or any other traffic) at the next check, `wsKeepaliveInterval`
   * later → close with `keepalive-timeout`.
   */
  #onKeepaliveCheck = (): void => {
    this.#kaTimer = undefined;
    if (this.state === FlowState.Closed) return;
    const s = this.host.settings;
    const clock = this.host.clock;
    const now = clock.now();
    if (this.#awaitingPong) {
      if (this.lastReceived <= this.#pingSentAt) {
        this.close(FlowCloseReason.KeepaliveTimeout);
        return;
      }
      this.#awaitingPong = false;
    }
    const idle = now - this.lastActivity;
    if (idle >= s.wsKeepaliveTimeoutMs) {
      this.#pingSentAt = now;
      this.#awaitingPong = true;
      try {
        this.#ws.ping();
      } catch {
        // not open any more: the close event follows
      }
      this.noteSent();
      this.#kaTimer = clock.setTimer(s.wsKeepaliveIntervalMs, this.#onKeepaliveCheck);
      return;
    }
    this.#kaTimer = clock.setTimer(s.wsKeepaliveTimeoutMs - idle, this.#onKeepaliveCheck);
  };

  #onError = (err: Error): void => {
    this.host.logger.debug({ flowId: this.id, err: err.message }, 'transport: websocket error');
    this.close(FlowCloseReason.ProtocolError);
  };

  #onClose = (): void => {
    this.close(FlowCloseReason.Remote);
  };
}
