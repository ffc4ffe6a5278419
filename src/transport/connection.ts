import type { Timer } from '../util/clock.js';
import type { ConnectionHost } from './internal.js';
import type { FramingError } from './stream-framer.js';
import {
  type Address,
  FlowCloseReason,
  type FlowId,
  type FlowInfo,
  FlowState,
  isSecure,
  type KeepaliveKind,
  type ListenerInfo,
  type Proto,
  type ReceiveInfo,
  type SendErrorCallback,
  type SendErrorCode,
} from './types.js';

/** What a connection reports to the transport layer. */
export interface ConnectionEvents extends ConnectionHost {
  /** The transport became ready (accepted TCP, finished TLS handshake, upgraded WS, connected out). */
  connOpened(conn: Connection): void;
  /** One complete SIP message (a framed stream message or one WebSocket frame). */
  connMessage(conn: Connection, buf: Buffer): void;
  /** The stream cannot be framed; the layer may answer, then closes the connection. */
  connFramingError(conn: Connection, error: FramingError): void;
  /** A keep-alive from the peer was answered. */
  connKeepalive(conn: Connection, kind: KeepaliveKind): void;
  /**
   * A keep-alive from the peer was left unanswered: the answer would take the connection's output
   * past `maxBufferedBytes` (a peer that sends keep-alives but does not read).
   */
  connKeepaliveOverCap(conn: Connection, kind: KeepaliveKind): void;
  /** The connection ended; `wasOpen` is false when it never got ready (failed connect or handshake). */
  connClosed(conn: Connection, reason: FlowCloseReason, wasOpen: boolean): void;
}

/** What a connection is created with. */
export interface ConnectionInit {
  readonly id: FlowId;
  readonly proto: Proto;
  readonly listener: ListenerInfo;
  readonly outgoing: boolean;
  readonly remote: Address;
  readonly local: Address;
  /**
   * Clock time the socket was accepted: the first-message deadline counts from it. Undefined for
   * outgoing connections, which have no such deadline.
   */
  readonly acceptedAt: number | undefined;
}

/**
 * One connection flow (RFC 5626 §3): TCP, TLS, WS or WSS. Keeps the bookkeeping every connection
 * shares: state, activity times, the `tcpConnectionLifetime` idle timer and the first-message
 * deadline. Subclasses own the socket.
 */
export abstract class Connection {
  readonly id: FlowId;
  readonly proto: Proto;
  readonly listener: ListenerInfo;
  readonly outgoing: boolean;
  readonly secure: boolean;
  readonly remote: Address;
  /** The socket's local address (the listener's before an outgoing connect completes). */
  local: Address;
  readonly openedAt: number;
  /** Clock time of the last traffic in either direction (keep-alives included). */
  lastActivity: number;
  /** Clock time of the last bytes received. */
  lastReceived: number;
  /** Clock time of the last keep-alive received from the peer. */
  lastKeepalive: number | undefined;
  state: FlowState = FlowState.Connecting;
  closeReason: FlowCloseReason | undefined;
  /** Why, in words, when the reason alone does not say it (goes into the close log line). */
  closeDetail: string | undefined;
  /** Handed to the layer above with every message from this connection (one object per connection). */
  readonly receiveInfo: ReceiveInfo;

  protected readonly host: ConnectionEvents;
  #lifetimeTimer: Timer | undefined;
  #firstTimer: Timer | undefined;
  /** Transactions in progress on this connection (see {@link hold}). */
  #busy = 0;
  /** The lifetime ran out while a transaction was in progress: checked again when the last one ends. */
  #lifetimeDeferred = false;

  constructor(host: ConnectionEvents, init: ConnectionInit) {
    this.host = host;
    this.id = init.id;
    this.proto = init.proto;
    this.listener = init.listener;
    this.outgoing = init.outgoing;
    this.secure = isSecure(init.proto);
    this.remote = init.remote;
    this.local = init.local;
    const now = host.clock.now();
    this.openedAt = now;
    this.lastActivity = now;
    this.lastReceived = now;
    this.lastKeepalive = undefined;
    this.receiveInfo = {
      proto: init.proto,
      local: { address: init.listener.address, port: init.listener.port },
      remote: init.remote,
      flowId: init.id,
      listener: init.listener,
      secure: this.secure,
    };
    const s = host.settings;
    this.#lifetimeTimer = host.clock.setTimer(s.lifetimeMs, this.#onLifetime);
    if (init.acceptedAt !== undefined) {
      const left = s.firstMessageTimeoutMs - (now - init.acceptedAt);
      this.#firstTimer = host.clock.setTimer(Math.max(0, left), this.#onFirstMessageTimeout);
    }
  }

  /** Transactions in progress on this connection. */
  get busy(): number {
    return this.#busy;
  }

  /**
   * A transaction is in progress on this connection: `tcp_connection_lifetime` does not close it
   * until every transaction that held it has {@link release}d it (a request still waiting for its
   * final response keeps the connection its response must go back on, RFC 3261 §18.2.2).
   */
  hold(): void {
    this.#busy++;
  }

  /** A transaction that {@link hold}s this connection ended. */
  release(): void {
    if (this.#busy > 0) this.#busy--;
    if (this.#busy > 0 || !this.#lifetimeDeferred || this.state === FlowState.Closed) return;
    // the lifetime ran out meanwhile: idle counts from the last traffic (usually the final just sent)
    this.#lifetimeDeferred = false;
    const idle = this.host.clock.now() - this.lastActivity;
    this.#lifetimeTimer = this.host.clock.setTimer(
      Math.max(0, this.host.settings.lifetimeMs - idle),
      this.#onLifetime,
    );
  }

  /** True while the flow can carry messages (Open; Connecting ones queue). */
  get usable(): boolean {
    return this.state !== FlowState.Closed;
  }

  /** A snapshot for the layers above. */
  info(): FlowInfo {
    return {
      id: this.id,
      proto: this.proto,
      local: this.local,
      remote: this.remote,
      listener: this.listener,
      secure: this.secure,
      openedAt: this.openedAt,
      lastActivity: this.lastActivity,
      lastKeepalive: this.lastKeepalive,
      state: this.state,
      outgoing: this.outgoing,
    };
  }

  /**
   * Sends bytes on this connection. Returns undefined when the bytes were handed to the socket,
   * else the reason (the connection is closed, or its send buffer is over the cap).
   */
  abstract write(buf: Buffer, onError?: SendErrorCallback): SendErrorCode | undefined;

  /** Starts reading (called once the layer has registered the connection). */
  abstract start(): void;

  /**
   * Ends the flow for `reason` (`detail`: why, in words, for the log line); the first call wins,
   * later ones do nothing.
   */
  close(reason: FlowCloseReason, detail?: string): void {
    if (this.state === FlowState.Closed) return;
    const wasOpen = this.state === FlowState.Open;
    this.state = FlowState.Closed;
    this.closeReason = reason;
    this.closeDetail = detail;
    const clock = this.host.clock;
    clock.clearTimer(this.#lifetimeTimer);
    clock.clearTimer(this.#firstTimer);
    this.#lifetimeTimer = undefined;
    this.#firstTimer = undefined;
    this.teardown(reason);
    this.host.connClosed(this, reason, wasOpen);
  }

  /** Releases the socket for `reason` (gracefully for local closes, at once for abuse and errors). */
  protected abstract teardown(reason: FlowCloseReason): void;

  /** The transport is ready: Connecting → Open, and the layer is told. */
  protected markOpen(): void {
    if (this.state !== FlowState.Connecting) return;
    this.state = FlowState.Open;
    this.host.connOpened(this);
  }

  protected noteReceived(): void {
    const now = this.host.clock.now();
    this.lastActivity = now;
    this.lastReceived = now;
  }

  protected noteSent(): void {
    this.lastActivity = this.host.clock.now();
  }

  /** A keep-alive from the peer, already answered. */
  protected noteKeepalive(kind: KeepaliveKind): void {
    this.lastKeepalive = this.host.clock.now();
    this.host.connKeepalive(this, kind);
  }

  /** Hands one complete SIP message up; the first one ends the first-message deadline. */
  protected deliver(buf: Buffer): void {
    if (this.#firstTimer !== undefined) {
      this.host.clock.clearTimer(this.#firstTimer);
      this.#firstTimer = undefined;
    }
    this.host.connMessage(this, buf);
  }

  // RFC 5626 §5.4 / Kamailio tcp_connection_lifetime: traffic in either direction refreshes the
  // deadline. The timer is not moved on every packet; when it fires it re-arms for the time left.
  #onLifetime = (): void => {
    this.#lifetimeTimer = undefined;
    if (this.state === FlowState.Closed) return;
    const lifetime = this.host.settings.lifetimeMs;
    const idle = this.host.clock.now() - this.lastActivity;
    if (idle >= lifetime) {
      // issue 12 §4: not while a transaction on it waits for its final response
      if (this.#busy > 0) {
        this.#lifetimeDeferred = true;
        return;
      }
      this.close(FlowCloseReason.Lifetime);
      return;
    }
    this.#lifetimeTimer = this.host.clock.setTimer(lifetime - idle, this.#onLifetime);
  };

  #onFirstMessageTimeout = (): void => {
    this.#firstTimer = undefined;
    this.close(FlowCloseReason.FirstMessageTimeout);
  };
}

/** Maps a socket error to a close reason: a reset or broken pipe is the peer's doing. */
export function reasonForSocketError(err: unknown): FlowCloseReason {
  const code = (err as { code?: unknown } | undefined)?.code;
  return code === 'ECONNRESET' || code === 'EPIPE' ? FlowCloseReason.Remote : FlowCloseReason.Error;
}

/** Closes a socket after a grace period if a graceful end does not finish (a peer that stops reading). */
export const GRACEFUL_CLOSE_MS = 2000;
