import { InvalidArgumentError } from '../errors/sip-error.js';
import { onFramingError } from './error-reply.js';
import { canonicalIp, ipFamily } from './ip.js';
import { fail, LayerState, type TransportDeps } from './layer-state.js';
import { openListener, shutdown, stopAccepting } from './listeners.js';
import { onConnClosed, onConnMessage, onConnOpened, onKeepalive } from './receive.js';
import { routeMatters } from './route-source.js';
import { candidates, choose, sendToAddress, sendToFlow } from './send.js';
import { serverContext } from './tls.js';
import {
  type Address,
  DropReason,
  FlowCloseReason,
  type FlowId,
  type FlowInfo,
  type ListenerInfo,
  Proto,
  type SendErrorCallback,
  type SendResult,
  type SendTarget,
  type TransportConfig,
  type TransportStats,
  type TransportUser,
} from './types.js';

export type { TransportDeps } from './layer-state.js';

/**
 * The transport layer (RFC 3261 §18, RFC 5626 §3–5, RFC 7118): listeners for UDP, TCP, TLS, WS
 * and WSS over IPv4 and IPv6, one flow per connection (and per UDP peer), CRLF / WebSocket / STUN
 * keep-alives, connection lifetime and protection caps. Received bytes are framed and scanned;
 * malformed requests get a stateless error reply, and well-formed messages go to
 * {@link TransportUser.onMessage} with where they came from. Sending is synchronous: the result
 * says at once whether the bytes were handed to a socket (no promise per message).
 *
 * The work is done beside it, on its {@link LayerState}: listeners.ts (bind, accept, close),
 * receive.ts (bytes in), error-reply.ts (stateless error replies), send.ts (bytes out, listener
 * and connection choice).
 */
export class TransportLayer {
  readonly #s: LayerState;
  #infos: readonly ListenerInfo[] = [];
  #closed: Promise<void> | undefined;

  /**
   * @param config listeners, TLS material, limits and timers (seconds unless noted)
   * @param user the layer above: receives messages and flow events
   * @throws InvalidArgumentError for a bad config value
   */
  constructor(config: TransportConfig, user: TransportUser, deps: TransportDeps = {}) {
    const s = new LayerState(config, user, deps);
    this.#s = s;
    s.host = {
      clock: s.clock,
      settings: s.settings,
      counters: s.counters,
      logger: s.logger,
      connOpened: (c) => onConnOpened(s, c),
      connMessage: (c, buf) => onConnMessage(s, c, buf),
      connFramingError: (c, e) => onFramingError(s, c, e),
      connKeepalive: (c, kind) => onKeepalive(s, c.id, c.proto, kind),
      connKeepaliveOverCap: (c, kind) =>
        s.drop(
          DropReason.KeepaliveOverCap,
          'warn',
          { flowId: c.id, remote: c.remote.address, kind },
          'keep-alive not answered: send buffer at the cap (a peer that does not read)',
        ),
      connClosed: (c, reason, wasOpen) => onConnClosed(s, c, reason, wasOpen),
    };
  }

  /** The listening sockets (after {@link listen}), with their real ports. */
  get listeners(): readonly ListenerInfo[] {
    return this.#infos;
  }

  /**
   * Binds every configured listener. Rejects (and closes what it opened) when one cannot be
   * bound, or a TLS/WSS listener has no `tls` config.
   */
  async listen(): Promise<ListenerInfo[]> {
    if (this.#s.state !== 'new')
      throw new InvalidArgumentError('transport: listen() may be called once');
    this.#s.state = 'listening';
    const needsTls = this.#s.config.listen.some(
      (l) => l.proto === Proto.TLS || l.proto === Proto.WSS,
    );
    if (needsTls) this.#s.tlsCtx = serverContext(this.#s.tls);
    try {
      let id = 1;
      for (const lc of this.#s.config.listen)
        this.#s.runtimes.push(await openListener(this.#s, id++, lc));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#infos = Object.freeze(this.#s.runtimes.map((r) => r.info));
    return [...this.#infos];
  }

  /**
   * Closes every listener and flow (flows report reason `local`); resolves when every socket is
   * closed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closed ??= shutdown(this.#s);
    return this.#closed;
  }

  /**
   * Sends one message (or any bytes). To a `flowId`: exactly that flow, never a new connection
   * (RFC 5626 §5.3): `SIP_ERR_FLOW_GONE` when it is closed. To an address: UDP from a listener of
   * the same family (or `listenerId`); TCP/TLS reuse an open connection to that address or open
   * one, queuing the bytes until it is connected (a failed connect is reported to `onError`);
   * WS/WSS only over an existing connection (`SIP_ERR_TRANSPORT_UNSUPPORTED` otherwise).
   */
  send(buf: Buffer, target: SendTarget, onError?: SendErrorCallback): SendResult {
    if (this.#s.state === 'closing' || this.#s.state === 'closed')
      return fail('SIP_ERR_TRANSPORT_UNSUPPORTED', 'transport layer is closed');
    if ('flowId' in target) return sendToFlow(this.#s, buf, target.flowId, onError);
    return sendToAddress(this.#s, buf, target, onError);
  }

  /**
   * The open listener of `proto` (and `family`) to send from. With `dest`, the one that fits the
   * destination when there are several (src/transport/route-source.ts: the address class first,
   * then the kernel's source address towards it, then configuration order); without, the first.
   */
  selectListener(proto: Proto, family?: 4 | 6, dest?: string): ListenerInfo | undefined {
    return choose(this.#s, proto, family, dest)?.info;
  }

  /**
   * Learns the kernel's source address towards `dest` when several listeners of `proto` could send
   * there and it decides between them: the promise to wait for before {@link selectListener};
   * undefined when there is nothing to wait for (one listener, the address class decides, or it is
   * known already).
   */
  learnRoute(proto: Proto, dest: string): Promise<void> | undefined {
    const family = ipFamily(dest);
    if (family === 0) return undefined;
    const infos = candidates(this.#s, proto, family).map((r) => r.info);
    if (!routeMatters(infos, canonicalIp(dest))) return undefined;
    return this.#s.routes.learn(canonicalIp(dest));
  }

  /**
   * Replaces the certificate, key and CA of the TLS and WSS listeners (certificate renewal): new
   * handshakes and new outgoing TLS connections use them, connections already open keep theirs.
   * @throws InvalidArgumentError when the material cannot be used (the old one stays in force)
   */
  reloadTls(tls: NonNullable<TransportConfig['tls']>): void {
    // the peer-certificate settings stay; certificate, key and CA are replaced
    const next = { ...this.#s.tls, ...tls };
    const ctx = serverContext(next);
    this.#s.tls = next;
    if (this.#s.tlsCtx !== undefined) this.#s.tlsCtx = ctx;
  }

  /** A snapshot of a live flow: a connection, or a UDP peer seen recently. */
  getFlow(id: FlowId): FlowInfo | undefined {
    return this.#s.table.getConnection(id)?.info() ?? this.#s.table.getUdp(id)?.info();
  }

  /** An open (or connecting) connection of `proto` to `remote`, the newest first; optionally of one listener. */
  findConnection(proto: Proto, remote: Address, localListenerId?: number): FlowInfo | undefined {
    return this.#s.table
      .findConnection(proto, canonicalIp(remote.address), remote.port, localListenerId)
      ?.info();
  }

  /** Snapshots of every connection and tracked UDP flow. */
  flows(): FlowInfo[] {
    const out: FlowInfo[] = [];
    for (const c of this.#s.table.connections()) out.push(c.info());
    for (const f of this.#s.table.udpFlows()) out.push(f.info());
    return out;
  }

  /**
   * Closes a connection flow (onFlowClose reports `reason`). Returns false when no such connection
   * is open; UDP flows have no connection to close.
   */
  closeFlow(id: FlowId, reason: FlowCloseReason = FlowCloseReason.Local): boolean {
    const c = this.#s.table.getConnection(id);
    if (c === undefined) return false;
    c.close(reason);
    return true;
  }

  /**
   * A transaction is in progress on flow `id`: its connection is not closed by
   * `tcpConnectionLifetime` until the matching {@link releaseFlow} (nothing for UDP flows).
   */
  holdFlow(id: FlowId): void {
    this.#s.table.getConnection(id)?.hold();
  }

  /** The transaction that held flow `id` ended. */
  releaseFlow(id: FlowId): void {
    this.#s.table.getConnection(id)?.release();
  }

  /** Counters since start. */
  stats(): TransportStats {
    return this.#s.counters.snapshot(this.#s.table.connectionCount, this.#s.table.udpCount);
  }

  /**
   * Graceful shutdown, step 1: stop accepting new connections (TCP/TLS/WS listeners close); UDP
   * sockets and the connections already open keep working, so transactions can finish.
   */
  stopAccepting(): void {
    stopAccepting(this.#s);
  }
}
