import type { SipRequest } from '../message/message.js';
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
import type { NextHop, Resolver } from './resolver.js';

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

/** What became of one attempt of a request to a next hop (see {@link NextHopSet.report}). */
export type NextHopOutcome =
  | { readonly ok: true }
  | {
      readonly ok: false;
      /** `timeout`, `transport error` or the status (503). */
      readonly why: string;
      /** The request went on to another next hop. */
      readonly failedOver: boolean;
    };

/**
 * A named set of next hops with failover (a registrar set; Kamailio dispatcher): the proxy core
 * asks it for the hops of a request whose `$du` names it, and tells it how each attempt went.
 */
export interface NextHopSet {
  /** What the hops are, in logs (`registrar`). */
  readonly name: string;
  /** ms without any response from one hop before the request goes to the next one. */
  readonly timeoutMs: number;
  /** The hops to try for a request, best first; empty: none is available now. */
  plan(req: SipRequest, ruri: string): NextHop[] | Promise<NextHop[]>;
  report(hop: NextHop, outcome: NextHopOutcome): void;
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

/** tm module parameters (Kamailio names in comments). */
export interface TmParams {
  /** `failure_reply_mode` (default 3): which earlier replies count after a failure route adds branches. */
  readonly failureReplyMode: number;
  /** `restart_fr_on_each_reply` (default 1). */
  readonly restartFrOnEachReply: boolean;
  /** `fr_inv_timer` ms (default 120000): INVITE branch after a provisional (RFC 3261 timer C). */
  readonly frInvTimer: number;
  /** `auto_inv_100` (default on): send 100 Trying when an INVITE transaction is created. */
  readonly autoInv100: boolean;
}

export const DEFAULT_TM: Readonly<TmParams> = Object.freeze({
  failureReplyMode: 3,
  restartFrOnEachReply: true,
  frInvTimer: 120_000,
  autoInv100: true,
});

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

/** Abuse limits of the proxy core (issue 10 §5). */
export interface ProxyLimits {
  /** Server transactions in the table; a new request beyond gets 503 + Retry-After. */
  readonly maxServerTransactions: number;
  /** Client transactions; a branch beyond fails with 503. */
  readonly maxClientTransactions: number;
  /** Branches per request (Kamailio MAX_BRANCHES). */
  readonly maxBranches: number;
}

export const DEFAULT_PROXY_LIMITS: Readonly<ProxyLimits> = Object.freeze({
  maxServerTransactions: 200_000,
  maxClientTransactions: 200_000,
  maxBranches: 12,
});
