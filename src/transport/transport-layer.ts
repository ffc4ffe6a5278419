import type { Socket as DgramSocket, RemoteInfo } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { SecureContext } from 'node:tls';
import type { WebSocket } from 'ws';
import { InvalidArgumentError, type SipParseError } from '../errors/sip-error.js';
import { buildResponseBytes } from '../message/build.js';
import { Hdr } from '../message/constants.js';
import type { SipMessage, SipRequest } from '../message/message.js';
import { scanMessage } from '../message/scanner.js';
import { validateMessage } from '../message/validate.js';
import { type Clock, RealClock } from '../util/clock.js';
import { channels } from '../util/diagnostics.js';
import { type Logger, noopLogger, RateLimitedLog } from '../util/logger.js';
import type { Connection, ConnectionEvents } from './connection.js';
import { FlowTable, parseUdpFlowId, type UdpFlow } from './flow-table.js';
import {
  ConnectionLimiter,
  Counters,
  FlowIdSource,
  resolveSettings,
  type TransportSettings,
} from './internal.js';
import { canonicalIp, ipFamily } from './ip.js';
import type { MessageInEvent, MessageOutEvent } from './message-events.js';
import { pickListener, RouteCache, type RouteProbe, routeMatters } from './route-source.js';
import { StreamConnection, StreamStart } from './stream-connection.js';
import { type FramingError, FramingErrorCode } from './stream-framer.js';
import { answerStun } from './stun.js';
import { closeStream, connectTcp, createStreamServer, isWildcard, listenStream } from './tcp.js';
import { connectTls, serverContext, wrapServerSocket } from './tls.js';
import {
  type Address,
  DropReason,
  FlowCloseReason,
  type FlowId,
  type FlowInfo,
  KeepaliveKind,
  type ListenConfig,
  type ListenerInfo,
  Proto,
  type ReceiveInfo,
  RefuseReason,
  type SendErrorCallback,
  type SendErrorCode,
  type SendResult,
  type SendTarget,
  type TransportConfig,
  type TransportStats,
  type TransportUser,
} from './types.js';
import { bindUdp, classifyDatagram, closeUdp, DatagramKind } from './udp.js';
import { WsAcceptor, WsConnection } from './ws.js';

/** Optional collaborators of {@link TransportLayer}. */
export interface TransportDeps {
  /** Time source for every transport timer (default: a {@link RealClock}). */
  readonly clock?: Clock | undefined;
  readonly logger?: Logger | undefined;
  /** Asks for the kernel's source address towards a destination (default: a connected UDP socket). */
  readonly routeProbe?: RouteProbe | undefined;
}

interface UdpRuntime {
  readonly kind: 'udp';
  readonly info: ListenerInfo;
  readonly socket: DgramSocket;
  /** `w<worker>/u<id>/`, the prefix of its flow ids. */
  readonly flowPrefix: string;
  open: boolean;
}

interface StreamRuntime {
  readonly kind: 'stream';
  readonly info: ListenerInfo;
  readonly server: Server;
  /** For WS/WSS listeners. */
  readonly ws: WsAcceptor | undefined;
  open: boolean;
}

type ListenerRuntime = UdpRuntime | StreamRuntime;

/**
 * The transport layer (RFC 3261 §18, RFC 5626 §3–5, RFC 7118): listeners for UDP, TCP, TLS, WS
 * and WSS over IPv4 and IPv6, one flow per connection (and per UDP peer), CRLF / WebSocket / STUN
 * keep-alives, connection lifetime and protection caps. Received bytes are framed and scanned;
 * malformed requests get a stateless error reply, and well-formed messages go to
 * {@link TransportUser.onMessage} with where they came from. Sending is synchronous: the result
 * says at once whether the bytes were handed to a socket (no promise per message).
 */
export class TransportLayer {
  readonly #config: TransportConfig;
  readonly #settings: TransportSettings;
  readonly #user: TransportUser;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #rl = new RateLimitedLog();
  readonly #counters = new Counters();
  readonly #limiter: ConnectionLimiter;
  readonly #ids: FlowIdSource;
  readonly #table = new FlowTable();
  readonly #host: ConnectionEvents;
  #runtimes: ListenerRuntime[] = [];
  #infos: readonly ListenerInfo[] = [];
  #tlsCtx: SecureContext | undefined;
  /** The TLS material in use (replaced by {@link reloadTls}). */
  #tls: TransportConfig['tls'];
  readonly #routes: RouteCache;
  /** Listener chosen per transport and destination (several listeners of a kind). */
  readonly #picks = new Map<Proto, Map<string, ListenerRuntime>>();
  /** Every socket this layer owns (accepted and outgoing), so close() can wait for them. */
  readonly #sockets = new Set<Socket>();
  #state: 'new' | 'listening' | 'closing' | 'closed' = 'new';
  #closed: Promise<void> | undefined;

  /**
   * @param config listeners, TLS material, limits and timers (seconds unless noted)
   * @param user the layer above: receives messages and flow events
   * @throws InvalidArgumentError for a bad config value
   */
  constructor(config: TransportConfig, user: TransportUser, deps: TransportDeps = {}) {
    this.#config = config;
    this.#tls = config.tls;
    this.#settings = resolveSettings(config);
    this.#user = user;
    this.#clock = deps.clock ?? new RealClock();
    this.#logger = (deps.logger ?? noopLogger).child({ layer: 'transport' });
    this.#routes = new RouteCache(
      deps.routeProbe,
      () => this.#clock.now(),
      () => this.#picks.clear(),
    );
    this.#limiter = new ConnectionLimiter(
      this.#settings.maxConnections,
      this.#settings.maxConnectionsPerIp,
      this.#settings.maxOutgoingConnections,
    );
    this.#ids = new FlowIdSource(this.#settings.workerId);
    this.#host = {
      clock: this.#clock,
      settings: this.#settings,
      counters: this.#counters,
      logger: this.#logger,
      connOpened: (c) => this.#onConnOpened(c),
      connMessage: (c, buf) => this.#onConnMessage(c, buf),
      connFramingError: (c, e) => this.#onFramingError(c, e),
      connKeepalive: (c, kind) => this.#onKeepalive(c.id, c.proto, kind),
      connKeepaliveOverCap: (c, kind) =>
        this.#drop(
          DropReason.KeepaliveOverCap,
          'warn',
          { flowId: c.id, remote: c.remote.address, kind },
          'keep-alive not answered: send buffer at the cap (a peer that does not read)',
        ),
      connClosed: (c, reason, wasOpen) => this.#onConnClosed(c, reason, wasOpen),
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
    if (this.#state !== 'new')
      throw new InvalidArgumentError('transport: listen() may be called once');
    this.#state = 'listening';
    const needsTls = this.#config.listen.some(
      (l) => l.proto === Proto.TLS || l.proto === Proto.WSS,
    );
    if (needsTls) this.#tlsCtx = serverContext(this.#tls);
    try {
      let id = 1;
      for (const lc of this.#config.listen) this.#runtimes.push(await this.#openListener(id++, lc));
    } catch (err) {
      await this.close();
      throw err;
    }
    this.#infos = Object.freeze(this.#runtimes.map((r) => r.info));
    return [...this.#infos];
  }

  /**
   * Closes every listener and flow (flows report reason `local`); resolves when every socket is
   * closed. Calling it again returns the same promise.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
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
    if (this.#state === 'closing' || this.#state === 'closed')
      return fail('SIP_ERR_TRANSPORT_UNSUPPORTED', 'transport layer is closed');
    if ('flowId' in target) return this.#sendToFlow(buf, target.flowId, onError);
    return this.#sendToAddress(buf, target, onError);
  }

  /**
   * The open listener of `proto` (and `family`) to send from. With `dest`, the one that fits the
   * destination when there are several (src/transport/route-source.ts: the address class first,
   * then the kernel's source address towards it, then configuration order); without, the first.
   */
  selectListener(proto: Proto, family?: 4 | 6, dest?: string): ListenerInfo | undefined {
    return this.#choose(proto, family, dest)?.info;
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
    const infos = this.#candidates(proto, family).map((r) => r.info);
    if (!routeMatters(infos, canonicalIp(dest))) return undefined;
    return this.#routes.learn(canonicalIp(dest));
  }

  /**
   * Replaces the certificate, key and CA of the TLS and WSS listeners (certificate renewal): new
   * handshakes and new outgoing TLS connections use them, connections already open keep theirs.
   * @throws InvalidArgumentError when the material cannot be used (the old one stays in force)
   */
  reloadTls(tls: NonNullable<TransportConfig['tls']>): void {
    // the peer-certificate settings stay; certificate, key and CA are replaced
    const next = { ...this.#tls, ...tls };
    const ctx = serverContext(next);
    this.#tls = next;
    if (this.#tlsCtx !== undefined) this.#tlsCtx = ctx;
  }

  /** A snapshot of a live flow: a connection, or a UDP peer seen recently. */
  getFlow(id: FlowId): FlowInfo | undefined {
    return this.#table.getConnection(id)?.info() ?? this.#table.getUdp(id)?.info();
  }

  /** An open (or connecting) connection of `proto` to `remote`, the newest first; optionally of one listener. */
  findConnection(proto: Proto, remote: Address, localListenerId?: number): FlowInfo | undefined {
    return this.#table
      .findConnection(proto, canonicalIp(remote.address), remote.port, localListenerId)
      ?.info();
  }

  /** Snapshots of every connection and tracked UDP flow. */
  flows(): FlowInfo[] {
    const out: FlowInfo[] = [];
    for (const c of this.#table.connections()) out.push(c.info());
    for (const f of this.#table.udpFlows()) out.push(f.info());
    return out;
  }

  /**
   * Closes a connection flow (onFlowClose reports `reason`). Returns false when no such connection
   * is open; UDP flows have no connection to close.
   */
  closeFlow(id: FlowId, reason: FlowCloseReason = FlowCloseReason.Local): boolean {
    const c = this.#table.getConnection(id);
    if (c === undefined) return false;
    c.close(reason);
    return true;
  }

  /**
   * A transaction is in progress on flow `id`: its connection is not closed by
   * `tcpConnectionLifetime` until the matching {@link releaseFlow} (nothing for UDP flows).
   */
  holdFlow(id: FlowId): void {
    this.#table.getConnection(id)?.hold();
  }

  /** The transaction that held flow `id` ended. */
  releaseFlow(id: FlowId): void {
    this.#table.getConnection(id)?.release();
  }

  /** Counters since start. */
  stats(): TransportStats {
    return this.#counters.snapshot(this.#table.connectionCount, this.#table.udpCount);
  }

  // ---------------------------------------------------------------- listeners

  async #openListener(id: number, lc: ListenConfig): Promise<ListenerRuntime> {
    const family = ipFamily(lc.address);
    if (family === 0)
      throw new InvalidArgumentError(
        `transport: listen address must be an IP literal, got '${lc.address}'`,
      );
    const advertise = lc.advertise;
    if (lc.proto === Proto.UDP) {
      const { socket, bound } = await bindUdp(lc.address, lc.port, family);
      const info: ListenerInfo = Object.freeze({
        id,
        proto: lc.proto,
        address: bound.address,
        port: bound.port,
        family,
        advertise,
      });
      const rt: UdpRuntime = {
        kind: 'udp',
        info,
        socket,
        flowPrefix: `w${this.#settings.workerId}/u${id}/`,
        open: true,
      };
      socket.on('message', (buf: Buffer, rinfo: RemoteInfo) => this.#onDatagram(rt, buf, rinfo));
      socket.on('error', (err: Error) => {
        this.#rl.log(
          this.#logger,
          'warn',
          `udp-error-${id}`,
          { listener: id, err: err.message },
          'transport: UDP socket error',
        );
      });
      socket.on('close', () => {
        rt.open = false;
      });
      return rt;
    }
    let rtRef: StreamRuntime | undefined;
    const server = createStreamServer(
      (s) => {
        if (rtRef !== undefined) this.#onAccept(rtRef, s);
        else s.destroy();
      },
      (err) =>
        this.#rl.log(
          this.#logger,
          'warn',
          `listen-error-${id}`,
          { listener: id, err: err.message },
          'transport: listener error',
        ),
    );
    const bound = await listenStream(server, lc.address, lc.port);
    const info: ListenerInfo = Object.freeze({
      id,
      proto: lc.proto,
      address: bound.address,
      port: bound.port,
      family,
      advertise,
    });
    const isWs = lc.proto === Proto.WS || lc.proto === Proto.WSS;
    const ws = isWs
      ? new WsAcceptor(this.#host, (sock, raw, _req, acceptedAt) =>
          this.#onWebSocket(info, sock, raw, acceptedAt),
        )
      : undefined;
    rtRef = { kind: 'stream', info, server, ws, open: true };
    return rtRef;
  }

  #onAccept(rt: StreamRuntime, socket: Socket): void {
    socket.on('error', noop); // until a connection owns it
    try {
      this.#accept(rt, socket);
    } catch (err) {
      this.#internalError(err);
      socket.destroy();
    }
  }

  #accept(rt: StreamRuntime, socket: Socket): void {
    const ip = socket.remoteAddress;
    const port = socket.remotePort;
    if (this.#state !== 'listening' || ip === undefined || port === undefined) {
      socket.destroy();
      return;
    }
    const refused = this.#limiter.acquire(ip);
    if (refused !== undefined) {
      this.#counters.refused(refused);
      this.#rl.log(
        this.#logger,
        'warn',
        `refused-${refused}`,
        { remote: ip, cause: refused },
        'transport: connection refused by cap',
      );
      socket.destroy();
      return;
    }
    this.#track(socket, ip);
    this.#counters.connectionsAccepted++;
    const now = this.#clock.now();
    const info = rt.info;
    switch (info.proto) {
      case Proto.TCP:
      case Proto.TLS: {
        const tlsCfg = this.#tls;
        const tlsCtx = this.#tlsCtx;
        const secure = info.proto === Proto.TLS;
        if (secure && (tlsCfg === undefined || tlsCtx === undefined)) {
          socket.destroy();
          return;
        }
        const sock =
          secure && tlsCfg !== undefined && tlsCtx !== undefined
            ? wrapServerSocket(socket, tlsCtx, tlsCfg)
            : socket;
        const conn = new StreamConnection(
          this.#host,
          {
            id: this.#ids.next(),
            proto: info.proto,
            listener: info,
            outgoing: false,
            remote: { address: ip, port },
            local: {
              address: socket.localAddress ?? info.address,
              port: socket.localPort ?? info.port,
            },
            acceptedAt: now,
          },
          sock,
          secure ? StreamStart.TlsAccepted : StreamStart.Accepted,
        );
        this.#table.addConnection(conn);
        conn.start();
        return;
      }
      case Proto.WS:
      case Proto.WSS: {
        const tlsCfg = this.#tls;
        const tlsCtx = this.#tlsCtx;
        if (info.proto === Proto.WSS) {
          if (tlsCfg === undefined || tlsCtx === undefined) {
            socket.destroy();
            return;
          }
          rt.ws?.accept(wrapServerSocket(socket, tlsCtx, tlsCfg), now);
        } else rt.ws?.accept(socket, now);
        return;
      }
      default:
        socket.destroy();
    }
  }

  #onWebSocket(info: ListenerInfo, ws: WebSocket, raw: Duplex, acceptedAt: number): void {
    try {
      this.#acceptWebSocket(info, ws, raw, acceptedAt);
    } catch (err) {
      this.#internalError(err);
      ws.terminate();
    }
  }

  #acceptWebSocket(info: ListenerInfo, ws: WebSocket, raw: Duplex, acceptedAt: number): void {
    const sock = raw as Socket;
    const ip = sock.remoteAddress;
    const port = sock.remotePort;
    if (this.#state !== 'listening' || ip === undefined || port === undefined) {
      ws.terminate();
      return;
    }
    const conn = new WsConnection(
      this.#host,
      {
        id: this.#ids.next(),
        proto: info.proto,
        listener: info,
        outgoing: false,
        remote: { address: ip, port },
        local: { address: sock.localAddress ?? info.address, port: sock.localPort ?? info.port },
        acceptedAt,
      },
      ws,
    );
    this.#table.addConnection(conn);
    conn.start();
  }

  /**
   * Counts a socket until it closes: the caps' slot and close() both need it. `ip` is the remote IP
   * of an accepted socket, undefined for an outgoing one.
   */
  #track(socket: Socket, ip: string | undefined): void {
    this.#sockets.add(socket);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#limiter.release(ip);
    });
  }

  // ---------------------------------------------------------------- receive

  #onDatagram(rt: UdpRuntime, buf: Buffer, rinfo: RemoteInfo): void {
    try {
      if (rinfo.port === 0) {
        this.#drop(
          DropReason.SourcePort0,
          'debug',
          { remote: rinfo.address },
          'UDP datagram from source port 0',
        );
        return;
      }
      switch (classifyDatagram(buf)) {
        case DatagramKind.Stun:
          this.#onStun(rt, buf, rinfo);
          return;
        case DatagramKind.Blank:
          // RFC 5626 §3.5.1: the CRLF keep-alive is for streams only; on UDP it gets no answer
          this.#drop(
            DropReason.Crlf,
            'debug',
            { remote: rinfo.address },
            'UDP CRLF/blank datagram ignored',
          );
          return;
        case DatagramKind.Runt:
          this.#drop(
            DropReason.Runt,
            'debug',
            { remote: rinfo.address, bytes: buf.length },
            'UDP datagram too short for SIP',
          );
          return;
        default: {
          const flow = this.#udpFlow(rt, rinfo.address, rinfo.port);
          this.#receive(buf, flow.receiveInfo, undefined, rt, false);
        }
      }
    } catch (err) {
      this.#internalError(err);
    }
  }

  #onStun(rt: UdpRuntime, buf: Buffer, rinfo: RemoteInfo): void {
    const out = answerStun(
      buf,
      { address: rinfo.address, port: rinfo.port },
      { software: this.#settings.stunSoftware },
    );
    if (out.kind === 'ignore') {
      this.#drop(
        DropReason.StunIgnored,
        'debug',
        { remote: rinfo.address, why: out.why },
        'STUN datagram ignored',
      );
      return;
    }
    this.#counters.stunRequests++;
    if (!rt.open) return;
    rt.socket.send(out.response, rinfo.port, rinfo.address);
    const flow = this.#udpFlow(rt, rinfo.address, rinfo.port);
    if (out.kind === 'success') {
      flow.lastKeepalive = this.#clock.now();
      this.#onKeepalive(flow.id, Proto.UDP, KeepaliveKind.Stun);
    } else {
      this.#rl.log(
        this.#logger,
        'debug',
        `stun-error-${out.code}`,
        { remote: rinfo.address, code: out.code },
        'transport: STUN error response sent',
      );
    }
  }

  #udpFlow(rt: UdpRuntime, address: string, port: number): UdpFlow {
    const id = `${rt.flowPrefix}${address.includes(':') ? `[${address}]` : address}:${port}`;
    return this.#table.touchUdp(id, rt.info, address, port, this.#clock.now());
  }

  #onConnMessage(conn: Connection, buf: Buffer): void {
    try {
      this.#receive(
        buf,
        conn.receiveInfo,
        conn,
        undefined,
        conn.proto === Proto.TCP || conn.proto === Proto.TLS,
      );
    } catch (err) {
      this.#internalError(err);
    }
  }

  /**
   * One message's worth of bytes → scan → validate → the layer above. A bad request whose Via,
   * From, To, Call-ID and CSeq are readable gets a stateless reply with the error's status; the
   * rest is dropped and logged (rate-limited). A response is never answered.
   */
  #receive(
    buf: Buffer,
    info: ReceiveInfo,
    conn: Connection | undefined,
    udp: UdpRuntime | undefined,
    stream: boolean,
  ): void {
    const r = scanMessage(buf, this.#settings.limits, stream);
    if (!r.ok) {
      this.#reject(r.error, r.msg, info, conn, udp);
      return;
    }
    const msg = r.msg;
    const bad = validateMessage(msg);
    if (bad !== undefined) {
      this.#reject(bad, msg, info, conn, udp);
      return;
    }
    this.#counters.messagesIn[info.proto]++;
    if (channels.messageIn.hasSubscribers)
      channels.messageIn.publish({ msg, info } satisfies MessageInEvent);
    try {
      this.#user.onMessage(msg, info);
    } catch (err) {
      this.#drop(
        DropReason.UserError,
        'error',
        { flowId: info.flowId, err: errText(err) },
        'onMessage threw',
      );
    }
  }

  #reject(
    error: SipParseError,
    msg: SipMessage | undefined,
    info: ReceiveInfo,
    conn: Connection | undefined,
    udp: UdpRuntime | undefined,
  ): void {
    const ctx = {
      flowId: info.flowId,
      remote: info.remote.address,
      code: error.code,
      why: error.message,
    };
    if (msg === undefined) {
      this.#drop(DropReason.Garbage, 'info', ctx, 'unparsable bytes dropped');
      return;
    }
    if (!msg.isRequest) {
      // RFC 3261 §18.1.2 / §16.7: a malformed response is discarded, never answered
      this.#drop(DropReason.BadResponse, 'info', ctx, 'malformed response dropped');
      return;
    }
    const req = msg as SipRequest;
    const reply = replyable(req)
      ? this.#errorReply(req, error.status, error.reason, info)
      : undefined;
    if (reply === undefined) {
      this.#drop(
        DropReason.BadRequest,
        'info',
        ctx,
        'malformed request dropped (no reply possible)',
      );
      return;
    }
    this.#drop(
      DropReason.BadRequest,
      'info',
      { ...ctx, status: error.status },
      'malformed request answered',
    );
    this.#sendReply(reply, info, conn, udp);
  }

  /** Builds a stateless error response, or undefined when it cannot be built. */
  #errorReply(
    req: SipRequest,
    status: number,
    reason: string,
    info: ReceiveInfo,
  ): Buffer | undefined {
    const top = req.topVia;
    if (top === undefined) return undefined;
    try {
      return buildResponseBytes(req, status, {
        reason: cleanReason(reason),
        topVia: top.withReceived(info.remote.address, info.remote.port),
      });
    } catch {
      return undefined;
    }
  }

  /**
   * Sends a stateless reply where the request came from: over the same connection, or for UDP to
   * the packet's source address and port (RFC 3581 §4 behaviour, so NATed clients get it).
   */
  #sendReply(
    bytes: Buffer,
    info: ReceiveInfo,
    conn: Connection | undefined,
    udp: UdpRuntime | undefined,
  ): void {
    this.#counters.errorReplies++;
    this.#counters.messagesOut[info.proto]++;
    if (conn !== undefined) conn.write(bytes);
    else if (udp?.open === true) udp.socket.send(bytes, info.remote.port, info.remote.address);
    if (channels.messageOut.hasSubscribers)
      channels.messageOut.publish({
        buf: bytes,
        flowId: info.flowId,
        proto: info.proto,
        listener: info.listener,
        remote: info.remote,
        local: conn?.local ?? info.local,
      } satisfies MessageOutEvent);
  }

  #onFramingError(conn: Connection, e: FramingError): void {
    try {
      const ctx = { flowId: conn.id, remote: conn.remote.address, framing: e.code, why: e.detail };
      let replied = false;
      if (e.header !== undefined && e.status >= 400) {
        // RFC 3261 §18.3: a stream message without Content-Length gets 400 (if it is a readable
        // request), then the connection is closed: the stream cannot be re-synchronised
        const r = scanMessage(e.header, this.#settings.limits, false);
        const msg = r.msg;
        if (msg?.isRequest === true && replyable(msg as SipRequest)) {
          const reason =
            e.code === FramingErrorCode.MissingContentLength
              ? 'Missing Content-Length'
              : e.status === 513
                ? 'Message Too Large'
                : 'Bad Content-Length';
          const bytes = this.#errorReply(msg as SipRequest, e.status, reason, conn.receiveInfo);
          if (bytes !== undefined) {
            this.#sendReply(bytes, conn.receiveInfo, conn, undefined);
            replied = true;
          }
        }
      }
      this.#drop(
        DropReason.Framing,
        'info',
        { ...ctx, replied },
        'stream framing error; closing connection',
      );
      const overflow =
        e.code === FramingErrorCode.Overflow || e.code === FramingErrorCode.HeaderTooLarge;
      conn.close(overflow ? FlowCloseReason.Overflow : FlowCloseReason.ProtocolError);
    } catch (err) {
      this.#internalError(err);
      conn.close(FlowCloseReason.ProtocolError);
    }
  }

  #onKeepalive(flowId: FlowId, proto: Proto, kind: KeepaliveKind): void {
    this.#counters.keepalives[kind]++;
    if (channels.keepalive.hasSubscribers) channels.keepalive.publish({ flowId, proto, kind });
  }

  // ---------------------------------------------------------------- flow events

  #onConnOpened(conn: Connection): void {
    const info = conn.info();
    if (channels.flowOpen.hasSubscribers) channels.flowOpen.publish(info);
    const cb = this.#user.onFlowOpen;
    if (cb === undefined) return;
    try {
      cb.call(this.#user, info);
    } catch (err) {
      this.#drop(
        DropReason.UserError,
        'error',
        { flowId: conn.id, err: errText(err) },
        'onFlowOpen threw',
      );
    }
  }

  #onConnClosed(conn: Connection, reason: FlowCloseReason, wasOpen: boolean): void {
    this.#table.removeConnection(conn);
    this.#counters.connectionsClosed[reason]++;
    if (reason !== FlowCloseReason.Remote && reason !== FlowCloseReason.Local) {
      const why = conn.closeDetail;
      this.#rl.log(
        this.#logger,
        'info',
        `close-${reason}`,
        {
          flowId: conn.id,
          remote: conn.remote.address,
          reason,
          ...(why !== undefined ? { why } : {}),
        },
        'transport: connection closed',
      );
    }
    if (!wasOpen) return;
    const info = conn.info();
    if (channels.flowClose.hasSubscribers) channels.flowClose.publish({ flow: info, reason });
    const cb = this.#user.onFlowClose;
    if (cb === undefined) return;
    try {
      cb.call(this.#user, info, reason);
    } catch (err) {
      this.#drop(
        DropReason.UserError,
        'error',
        { flowId: conn.id, err: errText(err) },
        'onFlowClose threw',
      );
    }
  }

  // ---------------------------------------------------------------- send

  #sendToFlow(buf: Buffer, id: FlowId, onError: SendErrorCallback | undefined): SendResult {
    const conn = this.#table.getConnection(id);
    if (conn !== undefined) return this.#writeConn(conn, buf, onError);
    const u = parseUdpFlowId(id);
    if (u !== undefined) {
      if (u.workerId !== this.#settings.workerId)
        return fail('SIP_ERR_FLOW_GONE', `flow ${id} belongs to worker ${u.workerId}`);
      const rt = this.#runtimes.find((r) => r.info.id === u.listenerId);
      // RFC 5626 §3: a UDP flow lives as long as its listening socket
      if (rt?.kind !== 'udp' || !rt.open)
        return fail('SIP_ERR_FLOW_GONE', `flow ${id}: its UDP listener is closed`);
      return this.#sendUdp(rt, buf, canonicalIp(u.address), u.port, onError);
    }
    return fail('SIP_ERR_FLOW_GONE', `flow ${id} is closed`);
  }

  #sendToAddress(
    buf: Buffer,
    t: Exclude<SendTarget, { readonly flowId: FlowId }>,
    onError: SendErrorCallback | undefined,
  ): SendResult {
    const family = ipFamily(t.address);
    if (family === 0)
      return fail(
        'SIP_ERR_TRANSPORT_SEND',
        `'${t.address}' is not an IP address (resolve it first)`,
      );
    if (!Number.isInteger(t.port) || t.port < 1 || t.port > 65535)
      return fail('SIP_ERR_TRANSPORT_SEND', `bad port ${t.port}`);
    const address = canonicalIp(t.address);
    if (t.proto === Proto.UDP) {
      const rt = this.#pickListener(Proto.UDP, family, t.listenerId, address);
      if (rt?.kind !== 'udp')
        return fail('SIP_ERR_TRANSPORT_UNSUPPORTED', `no UDP listener for IPv${family}`);
      return this.#sendUdp(rt, buf, address, t.port, onError);
    }
    const existing = this.#table.findConnection(t.proto, address, t.port, t.listenerId);
    if (existing !== undefined) return this.#writeConn(existing, buf, onError);
    if (t.proto === Proto.WS || t.proto === Proto.WSS) {
      return fail(
        'SIP_ERR_TRANSPORT_UNSUPPORTED',
        `no ${t.proto.toUpperCase()} connection to ${address}:${t.port} (outgoing WebSocket is not supported)`,
      );
    }
    return this.#connect(buf, t.proto, { address, port: t.port }, family, t.listenerId, onError);
  }

  #pickListener(
    proto: Proto,
    family: 4 | 6,
    listenerId: number | undefined,
    dest: string,
  ): ListenerRuntime | undefined {
    if (listenerId === undefined) return this.#choose(proto, family, dest);
    for (const r of this.#runtimes)
      if (r.open && r.info.proto === proto && r.info.id === listenerId) return r;
    return undefined;
  }

  #candidates(proto: Proto, family: 4 | 6 | undefined): ListenerRuntime[] {
    return this.#runtimes.filter(
      (r) => r.open && r.info.proto === proto && (family === undefined || r.info.family === family),
    );
  }

  #choose(
    proto: Proto,
    family: 4 | 6 | undefined,
    dest: string | undefined,
  ): ListenerRuntime | undefined {
    // the common case, one listener of the kind: no allocation on the send path
    let first: ListenerRuntime | undefined;
    let several = false;
    for (const r of this.#runtimes) {
      if (!r.open || r.info.proto !== proto || (family !== undefined && r.info.family !== family))
        continue;
      if (first !== undefined) {
        several = true;
        break;
      }
      first = r;
    }
    if (!several || dest === undefined) return first;
    let picks = this.#picks.get(proto);
    const hit = picks?.get(dest);
    if (hit?.open === true && (family === undefined || hit.info.family === family)) return hit;
    if (ipFamily(dest) === 0) return first;
    const c = this.#candidates(proto, family);
    const d = canonicalIp(dest);
    const l = pickListener(
      c.map((r) => r.info),
      d,
      this.#routes.source(d),
    );
    const chosen = c.find((r) => r.info === l) ?? first;
    if (picks === undefined || picks.size >= 4096) {
      picks = new Map();
      this.#picks.set(proto, picks);
    }
    if (chosen !== undefined) picks.set(dest, chosen);
    return chosen;
  }

  #sendUdp(
    rt: UdpRuntime,
    buf: Buffer,
    address: string,
    port: number,
    onError: SendErrorCallback | undefined,
  ): SendResult {
    const flow = this.#udpFlow(rt, address, port);
    try {
      if (onError !== undefined) {
        rt.socket.send(buf, port, address, (err) => {
          if (err) onError('SIP_ERR_TRANSPORT_SEND', err.message);
        });
      } else rt.socket.send(buf, port, address);
    } catch (err) {
      return fail('SIP_ERR_TRANSPORT_SEND', errText(err));
    }
    this.#counters.messagesOut.udp++;
    if (channels.messageOut.hasSubscribers)
      channels.messageOut.publish({
        buf,
        flowId: flow.id,
        proto: Proto.UDP,
        listener: rt.info,
        remote: { address, port },
        local: rt.info,
      } satisfies MessageOutEvent);
    return { ok: true, flowId: flow.id, listener: rt.info };
  }

  #writeConn(conn: Connection, buf: Buffer, onError: SendErrorCallback | undefined): SendResult {
    const code = conn.write(buf, onError);
    if (code !== undefined)
      return fail(
        code,
        code === 'SIP_ERR_FLOW_GONE'
          ? `flow ${conn.id} is closed`
          : `flow ${conn.id}: send buffer full`,
      );
    this.#counters.messagesOut[conn.proto]++;
    if (channels.messageOut.hasSubscribers)
      channels.messageOut.publish({
        buf,
        flowId: conn.id,
        proto: conn.proto,
        listener: conn.listener,
        remote: conn.remote,
        local: conn.local,
      } satisfies MessageOutEvent);
    return { ok: true, flowId: conn.id, listener: conn.listener };
  }

  #connect(
    buf: Buffer,
    proto: Proto,
    remote: Address,
    family: 4 | 6,
    listenerId: number | undefined,
    onError: SendErrorCallback | undefined,
  ): SendResult {
    const rt = this.#pickListener(proto, family, listenerId, remote.address);
    if (rt === undefined)
      return fail(
        'SIP_ERR_TRANSPORT_UNSUPPORTED',
        `no ${proto.toUpperCase()} listener for IPv${family}`,
      );
    const tlsCfg = this.#tls;
    if (proto === Proto.TLS && tlsCfg === undefined)
      return fail('SIP_ERR_TRANSPORT_UNSUPPORTED', 'TLS needs the `tls` config');
    // Outgoing connections have a budget of their own (issue 10): accepted ones cannot starve them
    if (this.#limiter.acquireOutgoing() !== undefined) {
      this.#counters.refused(RefuseReason.LimitOutgoing);
      this.#rl.log(
        this.#logger,
        'warn',
        `refused-${RefuseReason.LimitOutgoing}`,
        { remote: remote.address, port: remote.port, cause: RefuseReason.LimitOutgoing },
        'transport: outgoing connection refused by cap',
      );
      return fail(
        'SIP_ERR_TRANSPORT_LIMIT',
        `outgoing connection cap (${this.#settings.maxOutgoingConnections}) reached`,
      );
    }
    const local = isWildcard(rt.info.address) ? undefined : rt.info.address;
    let socket: Socket;
    try {
      socket =
        proto === Proto.TLS && tlsCfg !== undefined
          ? connectTls(remote, tlsCfg, local)
          : connectTcp(remote, local);
    } catch (err) {
      this.#limiter.release(undefined);
      return fail('SIP_ERR_TRANSPORT_SEND', errText(err));
    }
    socket.on('error', noop);
    this.#track(socket, undefined);
    this.#counters.connectionsOpened++;
    const conn = new StreamConnection(
      this.#host,
      {
        id: this.#ids.next(),
        proto,
        listener: rt.info,
        outgoing: true,
        remote,
        local: { address: rt.info.address, port: 0 },
        acceptedAt: undefined,
      },
      socket,
      proto === Proto.TLS ? StreamStart.TlsConnecting : StreamStart.Connecting,
    );
    this.#table.addConnection(conn);
    conn.start();
    return this.#writeConn(conn, buf, onError);
  }

  // ---------------------------------------------------------------- misc

  #drop(
    reason: DropReason,
    level: 'debug' | 'info' | 'warn' | 'error',
    ctx: object,
    msg: string,
  ): void {
    this.#counters.drops[reason]++;
    this.#rl.log(this.#logger, level, `drop-${reason}`, { reason, ...ctx }, `transport: ${msg}`);
    if (channels.messageDropped.hasSubscribers) channels.messageDropped.publish({ reason, ...ctx });
  }

  #internalError(err: unknown): void {
    this.#rl.log(
      this.#logger,
      'error',
      'internal',
      { err: errText(err) },
      'transport: internal error on the receive path',
    );
  }

  /**
   * Graceful shutdown, step 1: stop accepting new connections (TCP/TLS/WS listeners close); UDP
   * sockets and the connections already open keep working, so transactions can finish.
   */
  stopAccepting(): void {
    for (const r of this.#runtimes) if (r.kind === 'stream' && r.server.listening) r.server.close();
  }

  async #shutdown(): Promise<void> {
    this.#state = 'closing';
    const waits: Promise<void>[] = [];
    for (const r of this.#runtimes) {
      r.open = false;
      if (r.kind === 'udp') {
        this.#table.dropUdpListener(r.info.id);
        waits.push(closeUdp(r.socket));
      } else {
        waits.push(closeStream(r.server));
        r.ws?.destroyPending();
      }
    }
    for (const c of [...this.#table.connections()]) c.close(FlowCloseReason.Local);
    // every socket still in the set has not emitted 'close' yet (it leaves the set on 'close')
    for (const s of this.#sockets)
      waits.push(new Promise((resolve) => s.once('close', () => resolve())));
    await Promise.all(waits);
    this.#state = 'closed';
  }
}

function noop(): void {}

function fail(code: SendErrorCode, message: string): SendResult {
  return { ok: false, code, message };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * A request can be answered statelessly when a response can be matched and routed: the top Via
 * and CSeq parse, and Call-ID, From and To are present (a response copies them verbatim, RFC 3261
 * §8.2.6.2). Never an ACK (RFC 3261 §17.1.1.3: ACK gets no response).
 */
function replyable(req: SipRequest): boolean {
  return (
    req.method !== 'ACK' &&
    req.method.length > 0 &&
    req.topVia !== undefined &&
    req.cseq !== undefined &&
    req.callId !== undefined &&
    req.hasHeader(Hdr.From) &&
    req.hasHeader(Hdr.To)
  );
}

/** A reason phrase is text without CR/LF (RFC 3261 §25.1 Reason-Phrase). */
function cleanReason(reason: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping control characters is the point
  return reason.replace(/[\x00-\x1f\x7f]+/g, ' ').slice(0, 128);
}
