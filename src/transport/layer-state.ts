import type { Socket as DgramSocket } from 'node:dgram';
import type { Server, Socket } from 'node:net';
import type { SecureContext } from 'node:tls';
import { type Clock, RealClock } from '../util/clock.js';
import { channels } from '../util/diagnostics.js';
import { type Logger, noopLogger, RateLimitedLog } from '../util/logger.js';
import type { ConnectionEvents } from './connection.js';
import { FlowTable, type UdpFlow } from './flow-table.js';
import {
  ConnectionLimiter,
  Counters,
  FlowIdSource,
  resolveSettings,
  type TransportSettings,
} from './internal.js';
import { RouteCache, type RouteProbe } from './route-source.js';
import type {
  DropReason,
  ListenerInfo,
  Proto,
  SendErrorCode,
  SendResult,
  TransportConfig,
  TransportUser,
} from './types.js';
import type { WsAcceptor } from './ws.js';

/*
 * The state one TransportLayer shares with the files that do its work: listeners.ts (binding and
 * accepting), receive.ts (bytes in), error-reply.ts (stateless answers to bad requests) and
 * send.ts (bytes out and the choice of listener or connection). Not part of the public API.
 */

/** Optional collaborators of {@link TransportLayer}. */
export interface TransportDeps {
  /** Time source for every transport timer (default: a {@link RealClock}). */
  readonly clock?: Clock | undefined;
  readonly logger?: Logger | undefined;
  /** Asks for the kernel's source address towards a destination (default: a connected UDP socket). */
  readonly routeProbe?: RouteProbe | undefined;
}

/** A UDP listener: its socket, and the prefix of the ids of its flows. */
export interface UdpRuntime {
  readonly kind: 'udp';
  readonly info: ListenerInfo;
  readonly socket: DgramSocket;
  /** `w<worker>/u<id>/`, the prefix of its flow ids. */
  readonly flowPrefix: string;
  open: boolean;
}

/** A TCP, TLS, WS or WSS listener. */
export interface StreamRuntime {
  readonly kind: 'stream';
  readonly info: ListenerInfo;
  readonly server: Server;
  /** For WS/WSS listeners. */
  readonly ws: WsAcceptor | undefined;
  open: boolean;
}

export type ListenerRuntime = UdpRuntime | StreamRuntime;

/** The mutable state of one {@link TransportLayer}: its settings, tables, counters and listeners. */
export class LayerState {
  readonly config: TransportConfig;
  readonly settings: TransportSettings;
  readonly user: TransportUser;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly rl = new RateLimitedLog();
  readonly counters = new Counters();
  readonly limiter: ConnectionLimiter;
  readonly ids: FlowIdSource;
  readonly table = new FlowTable();
  /** The connections' callbacks into this layer (set by TransportLayer's constructor). */
  host!: ConnectionEvents;
  runtimes: ListenerRuntime[] = [];
  tlsCtx: SecureContext | undefined;
  /** The TLS material in use (replaced by `TransportLayer.reloadTls`). */
  tls: TransportConfig['tls'];
  readonly routes: RouteCache;
  /** Listener chosen per transport and destination (several listeners of a kind). */
  readonly picks = new Map<Proto, Map<string, ListenerRuntime>>();
  /** Every socket this layer owns (accepted and outgoing), so close() can wait for them. */
  readonly sockets = new Set<Socket>();
  state: 'new' | 'listening' | 'closing' | 'closed' = 'new';

  constructor(config: TransportConfig, user: TransportUser, deps: TransportDeps) {
    this.config = config;
    this.tls = config.tls;
    this.settings = resolveSettings(config);
    this.user = user;
    this.clock = deps.clock ?? new RealClock();
    this.logger = (deps.logger ?? noopLogger).child({ layer: 'transport' });
    this.routes = new RouteCache(
      deps.routeProbe,
      () => this.clock.now(),
      () => this.picks.clear(),
    );
    this.limiter = new ConnectionLimiter(
      this.settings.maxConnections,
      this.settings.maxConnectionsPerIp,
      this.settings.maxOutgoingConnections,
    );
    this.ids = new FlowIdSource(this.settings.workerId);
  }

  /**
   * Counts a socket until it closes: the caps' slot and close() both need it. `ip` is the remote IP
   * of an accepted socket, undefined for an outgoing one.
   */
  track(socket: Socket, ip: string | undefined): void {
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      this.limiter.release(ip);
    });
  }

  /** The flow of a UDP peer of listener `rt`, created or refreshed (RFC 5626 §3: listener + peer address). */
  udpFlow(rt: UdpRuntime, address: string, port: number): UdpFlow {
    const id = `${rt.flowPrefix}${address.includes(':') ? `[${address}]` : address}:${port}`;
    return this.table.touchUdp(id, rt.info, address, port, this.clock.now());
  }

  /** Counts, logs (rate-limited) and publishes something the layer did not pass up or send. */
  drop(
    reason: DropReason,
    level: 'debug' | 'info' | 'warn' | 'error',
    ctx: object,
    msg: string,
  ): void {
    this.counters.drops[reason]++;
    this.rl.log(this.logger, level, `drop-${reason}`, { reason, ...ctx }, `transport: ${msg}`);
    if (channels.messageDropped.hasSubscribers) channels.messageDropped.publish({ reason, ...ctx });
  }

  /** A bug caught on the receive path: logged, and the message is lost, never the process. */
  internalError(err: unknown): void {
    this.rl.log(
      this.logger,
      'error',
      'internal',
      { err: errText(err) },
      'transport: internal error on the receive path',
    );
  }
}

/** For sockets' 'error' until a connection owns them (an unhandled 'error' would throw). */
export function noop(): void {}

/** A failed {@link SendResult}. */
export function fail(code: SendErrorCode, message: string): SendResult {
  return { ok: false, code, message };
}

export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
