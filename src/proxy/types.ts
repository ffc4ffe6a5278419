import type {
  Address,
  FlowInfo,
  ListenerInfo,
  Proto,
  SendErrorCallback,
  SendResult,
  SendTarget,
} from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ReplyContext, RequestContext } from './context.js';
import type { ProxyLimits, TmParams } from './params.js';
import type { Resolver } from './resolver.js';

export type { NextHopOutcome, NextHopSet } from './branch.js';
export {
  DEFAULT_PROXY_LIMITS,
  DEFAULT_TM,
  type ProxyLimits,
  type TmParams,
} from './params.js';

/** Counters for metrics (`/metrics`, `flowgate ctl stats`). */
export interface ProxyStats {
  requests: Record<string, number>;
  replies: Record<string, number>;
  scriptErrors: number;
  flowFailed430: number;
  /** Broken or foreign flow tokens (loose_route -2, check_flow_token -4). */
  flowTokenFailures: number;
  /** New requests refused while draining. */
  refusedDraining: number;
  /** Requests, branches or sources refused by an abuse limit, by limit (issue 10 §5). */
  limits: Record<string, number>;
  /** Responses matching no client transaction, dropped (RFC 6026: never relayed statelessly). */
  strayResponses: number;
  /**
   * Requests that went on to the next address of their destination after a transport error, a
   * timeout or a 503 (RFC 3263 §4.3; a registrar set's failover).
   */
  nextHopFailovers: number;
}

/** What the proxy core needs from the transport layer (implemented by `TransportLayer`). */
export interface ProxyTransport {
  readonly listeners: readonly ListenerInfo[];
  send(buf: Buffer, target: SendTarget, onError?: SendErrorCallback): SendResult;
  /** The listener to send from over `proto` towards `dest` (see `TransportLayer.selectListener`). */
  selectListener(proto: Proto, family: 4 | 6, dest?: string): ListenerInfo | undefined;
  /**
   * Learns what {@link selectListener} needs to choose among several listeners for `dest`: a
   * promise to wait for, or undefined when it can choose now (absent: it always can).
   */
  learnRoute?(proto: Proto, dest: string): Promise<void> | undefined;
  getFlow(id: string): FlowInfo | undefined;
  findConnection(proto: Proto, remote: Address, localListenerId?: number): FlowInfo | undefined;
}

/** The script, as the proxy core calls it (the script layer adapts user routes to this). */
export interface RouteHandlers {
  /** request_route */
  request(ctx: RequestContext): void | Promise<void>;
  /** onreply_route; absent: replies are relayed untouched. */
  reply?: ((ctx: ReplyContext) => void | Promise<void>) | undefined;
  /** failure_route[name] */
  failure(name: string, ctx: RequestContext): void | Promise<void>;
  /** event_route[tm:branch-failure:name] */
  branchFailure(name: string, ctx: RequestContext): void | Promise<void>;
}

export interface ProxyOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Kamailio `force_rport` (RFC 3581 behaviour for every request). */
  readonly forceRport: boolean;
  /** Extra host names that are "myself" (Kamailio `alias`), any port and transport. */
  readonly aliases: readonly string[];
  readonly tm: TmParams;
  readonly resolver: Resolver;
  /** Server header for local replies; undefined = none. */
  readonly serverHeader: string | undefined;
  /** Caps on the transaction tables and on forking; default {@link DEFAULT_PROXY_LIMITS}. */
  readonly limits?: Partial<ProxyLimits> | undefined;
}
