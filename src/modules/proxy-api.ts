import type { SipRequest, SipResponse } from '../message/message.js';
import type { SipUri } from '../message/parse/uri.js';
import type { ReplyContext, RequestContext } from '../proxy/context.js';
import type { ProxyLimits, ProxyTransport } from '../proxy/types.js';
import type { FlowCloseReason, FlowInfo, ReceiveInfo } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';

/**
 * What a module may use of the proxy (Kamailio's `api.h` idea: modules bind to a small table of
 * core services, never to the core itself). `ProxyCore` satisfies it structurally; a module test
 * can pass a stand-in with just these members. Each module's exports name the members it needs
 * (`ModuleExports.needs`).
 */
export interface ProxyServices {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Listeners, connection lookup and raw sends (flow tokens, keep-alive pings). */
  readonly transport: Pick<ProxyTransport, 'listeners' | 'send' | 'findConnection'>;
  /** Counters a module adds to (`/metrics`). */
  readonly stats: { flowTokenFailures: number };
  readonly limits: ProxyLimits;
  /** Final responses relayed upstream, with the request they answer and where it came from. */
  readonly relayedFinalHooks: ((req: SipRequest, info: ReceiveInfo, res: SipResponse) => void)[];
  /** Responses that matched no transaction; a hook returns true when it took the response. */
  readonly strayResponseHooks: ((res: SipResponse, info: ReceiveInfo) => boolean)[];
  /**
   * A UDP destination known to be gone (a pinged UA that stopped answering): a flow token naming
   * it fails with 430 at once (RFC 5626 §5.3.1).
   */
  readonly isUdpFlowGone: (listenerId: number, address: string, port: number) => boolean;
  /** Connection flows that closed. */
  readonly flowCloseHooks: ((flow: FlowInfo, reason: FlowCloseReason) => void)[];
  /** The URI names this element (host and port). */
  isMyself(uri: SipUri): boolean;
  /** The host (any port) is one this element serves. */
  isDomainLocal(host: string): boolean;
  /** An abuse limit refused something: count it and log at most once a minute per key. */
  limitHit(limit: string, logKey: string | undefined, obj: object, msg: string): void;
  /** `sl_send_reply`: a stateless reply. */
  replyStateless(
    ctx: RequestContext,
    status: number,
    reason?: string,
    headers?: readonly string[],
  ): number;
  /** `send_reply`: statefully when a transaction exists, else statelessly. */
  sendReply(
    ctx: RequestContext,
    status: number,
    reason?: string,
    headers?: readonly string[],
  ): number;
}

/**
 * What the script context uses on top of {@link ProxyServices}: the tm / sl functions the proxy
 * core implements itself (Kamailio's tm and sl modules are part of flowgate's core).
 */
export interface ScriptProxy extends ProxyServices {
  tReply(ctx: RequestContext, status: number, reason?: string, headers?: readonly string[]): number;
  replyError(ctx: RequestContext): number;
  relay(ctx: RequestContext): number;
  newTran(ctx: RequestContext): number;
  checkTrans(ctx: RequestContext | ReplyContext): number;
}

/** A member of the proxy interface a module declares it needs. */
export type ProxyNeed = keyof ScriptProxy;
