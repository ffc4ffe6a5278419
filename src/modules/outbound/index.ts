import { Hdr } from '../../message/constants.js';
import { SipUri } from '../../message/parse/uri.js';
import { validateMessage } from '../../message/validate.js';
import type { RequestContext } from '../../proxy/context.js';
import type { FlowCloseReason, ListenerInfo, Proto, ReceiveInfo } from '../../transport/types.js';
import { FlowCloseReason as Reason } from '../../transport/types.js';
import { RateLimitedLog } from '../../util/logger.js';
import type { ProxyServices } from '../proxy-api.js';
import {
  canonicalIp,
  type DecodeResult,
  decodeFlowToken,
  encodeFlowToken,
  type FlowTokenData,
  flowTokenKey,
  sameIp,
} from './flow-token.js';

export {
  canonicalIp,
  decodeFlowToken,
  encodeFlowToken,
  flowTokenKey,
  sameIp,
} from './flow-token.js';

/** `modparam("outbound", …)` (Kamailio names), plus flowgate's direction mode (decision Q-E15). */
export interface OutboundParams {
  /** Message flag forcing flow tokens into Path/Record-Route (-1 = off). */
  readonly force_outbound_flag: number;
  /** Message flag preventing flow tokens (-1 = off). */
  readonly force_no_outbound_flag: number;
  /** Secret for the token key; unset: a random key kept in the data directory. */
  readonly flow_token_secret?: string | undefined;
  /**
   * The secret before the last rotation: tokens it signed are still accepted (Path and
   * Record-Route of bindings and dialogs made before the rotation), new tokens use the current key.
   */
  readonly flow_token_secret_previous?: string | undefined;
  /** How a request from the token's owner is recognised: its IP and port (Kamailio), or its IP only. */
  readonly direction_match?: 'ip-port' | 'ip' | undefined;
}

/** `use_outbound()` results (outbound.md §1.2). */
export const UseOutbound = { No: 0, Outgoing: 1, Incoming: 2 } as const;

/** `check_flow_token()` return codes (Kamailio outbound module, plus -6 as flowgate defines it: decision Q-E4). */
export const CheckFlowTokenRc = {
  Valid: 1,
  NoRoute: -1,
  NotMyself: -2,
  NoToken: -3,
  CannotDecode: -4,
  NoConnection: -5,
  /** The flow existed but was closed because its lifetime ran out (idle past tcp_connection_lifetime or an unanswered WebSocket keep-alive). */
  Expired: -6,
  BadRoute: -7,
  BadHeaders: -8,
} as const;

/** Message flags are 0..63 in Kamailio; -1 disables the parameter. */
export function validateFlag(name: string, v: number): void {
  if (!Number.isInteger(v) || v < -1 || v > 63)
    throw new Error(`outbound: ${name} must be -1 (off) or a message flag 0..63, got ${v}`);
}

/**
 * The RFC 5626 edge-proxy logic (Kamailio `outbound` module): when outbound applies, flow tokens,
 * routing by token, `check_flow_token`. The path and rr modules bind to it when it is loaded.
 */
export class Outbound {
  readonly #core: ProxyServices;
  readonly #key: Buffer;
  /** The keys a token may be signed with: the current one first, then the previous one. */
  readonly #keys: readonly Buffer[];
  readonly #params: OutboundParams;
  /** Recently closed connections by `proto|ip|port`, with why (for check_flow_token -6). */
  readonly #closed = new Map<string, FlowCloseReason>();
  /** Tokens by flow id (a flow id names one proto/local/remote triple for its whole life). */
  readonly #tokens = new Map<string, string>();
  /** "flow gone" lines: one a minute per connection, however many requests follow it. */
  readonly #goneLog = new RateLimitedLog(60_000);

  constructor(core: ProxyServices, params: OutboundParams, keyFile?: string) {
    validateFlag('force_outbound_flag', params.force_outbound_flag);
    validateFlag('force_no_outbound_flag', params.force_no_outbound_flag);
    this.#core = core;
    this.#params = params;
    this.#key = flowTokenKey(params.flow_token_secret, keyFile);
    const prev = params.flow_token_secret_previous;
    this.#keys = prev === undefined || prev === '' ? [this.#key] : [this.#key, flowTokenKey(prev)];
    core.flowCloseHooks.push((flow, reason) => {
      if (flow.proto === 'udp') return;
      if (this.#closed.size >= 10_000) {
        const first = this.#closed.keys().next().value;
        if (first !== undefined) this.#closed.delete(first);
      }
      this.#closed.set(connKey(flow.proto, flow.remote.address, flow.remote.port), reason);
    });
  }

  /** The current key: every token this edge issues is signed with it. */
  get key(): Buffer {
    return this.#key;
  }

  /** A token for the flow a request arrived on (RFC 5626 §5.2); cached per flow (an HMAC each time otherwise). */
  encode(info: ReceiveInfo): string {
    let t = this.#tokens.get(info.flowId);
    if (t === undefined) {
      t = encodeFlowToken(this.#key, { proto: info.proto, local: info.local, remote: info.remote });
      if (this.#tokens.size >= 10_000) this.#tokens.clear();
      this.#tokens.set(info.flowId, t);
    }
    return t;
  }

  /** Decodes a token signed with the current key or, after a rotation, the previous one. */
  decode(user: string | undefined): DecodeResult {
    return decodeFlowToken(this.#keys, user);
  }

  /** `use_outbound(msg)`: 0 no, 1 encode a token from the arrival flow, 2 re-use the top Route's token (outbound.md §1.2). */
  useOutbound(ctx: RequestContext): 0 | 1 | 2 {
    const p = this.#params;
    if (p.force_outbound_flag >= 0 && ctx.flags & (1 << p.force_outbound_flag))
      return UseOutbound.Outgoing;
    if (p.force_no_outbound_flag >= 0 && ctx.flags & (1 << p.force_no_outbound_flag))
      return UseOutbound.No;
    const req = ctx.req;
    if (req.method === 'REGISTER') return this.#useOutboundRegister(ctx);
    return this.#useOutboundNonRegister(ctx);
  }

  #useOutboundRegister(ctx: RequestContext): 0 | 1 {
    const req = ctx.req;
    // RFC 5626 §5.1: only the first hop (a single Via) applies outbound to a REGISTER
    if (req.viaCount > 1) return 0;
    if (!req.hasHeader(Hdr.Contact)) return 0;
    const c = req.contacts;
    if (c === undefined) return 0;
    if (c.star) {
      // Kamailio master (PR #4279): `Contact: *` with `Expires: 0` is outbound too
      const e = req.expires;
      return e === 0 ? 1 : 0;
    }
    const first = c.contacts[0];
    return first?.params.has('reg-id') ? 1 : 0;
  }

  #useOutboundNonRegister(ctx: RequestContext): 0 | 1 | 2 {
    const req = ctx.req;
    if (req.hasHeader(Hdr.Route)) {
      const routes = req.routes;
      const r = routes?.[0];
      if (r === undefined || !(r.uri instanceof SipUri)) return 0;
      // a foreign top Route or a GRUU never gets outbound treatment (outbound.md §1.2, Q-E9)
      if (!this.#core.isMyself(r.uri)) return 0;
      if (r.uri.hasParam('ob')) {
        const d = this.decode(r.uri.user);
        if (d.ok && !this.#fromTokenOwner(d.token, ctx.info)) return UseOutbound.Incoming;
        return UseOutbound.Outgoing;
      }
    }
    // RFC 5626 §5.1: a Supported header without "outbound" disables it; no Supported does not
    if (req.hasHeader(Hdr.Supported) && !req.hasOptionTag(Hdr.Supported, 'outbound')) return 0;
    if (req.viaCount > 1) return 0;
    const c = req.contacts;
    const first = c?.contacts[0];
    if (first === undefined || !(first.uri instanceof SipUri)) return 0;
    // `;ob` must be a URI parameter inside <>, not a header parameter
    return first.uri.hasParam('ob') ? 1 : 0;
  }

  /** The request comes from the UA that owns the token (its NAT address), so the token is not used to route it. */
  #fromTokenOwner(t: FlowTokenData, info: ReceiveInfo): boolean {
    if (!sameIp(t.remote.address, info.remote.address)) return false;
    return this.#params.direction_match === 'ip' || t.remote.port === info.remote.port;
  }

  /** The listening socket a token names (WS/WSS on the WebSocket listeners). */
  listenerFor(t: FlowTokenData): ListenerInfo | undefined {
    return this.#core.transport.listeners.find(
      (l) => l.proto === t.proto && l.port === t.local.port && sameIp(l.address, t.local.address),
    );
  }

  /**
   * The flow-token part of `loose_route` (outbound.md §1.6 `process_outbound`): 0 not a token or
   * the request comes from the token owner; -1 broken token or unknown socket; 1 routed to the flow
   * (`$du` and the exact flow set; a vanished connection marks the destination dead -> 430).
   */
  processOutbound(ctx: RequestContext, user: string | undefined): -1 | 0 | 1 {
    const d = this.decode(user);
    if (!d.ok) return d.code === -2 ? 0 : -1;
    const t = d.token;
    if (this.#fromTokenOwner(t, ctx.info)) return 0;
    if (t.proto === 'sctp') return -1;
    const l = this.listenerFor(t);
    if (l === undefined) return -1;
    const ip = canonicalIp(t.remote.address);
    ctx.resetDestination();
    const host = ip.includes(':') ? `[${ip}]` : ip;
    const tp = t.proto === 'wss' ? 'ws' : t.proto;
    ctx.du = `sip:${host}:${t.remote.port}${tp === 'udp' ? '' : `;transport=${tp}`}`;
    // the socket named by the token sends (Kamailio forced socket)
    ctx.listenerId = l.id;
    // a UDP flow is the (socket, address) pair itself, gone only when keep-alives say so; a
    // connection must still exist (RFC 5626 §5.3.1)
    if (t.proto === 'udp') {
      if (this.#core.isUdpFlowGone(l.id, ip, t.remote.port)) ctx.deadFlow = true;
    } else {
      const flow = this.#core.transport.findConnection(
        t.proto as Proto,
        { address: ip, port: t.remote.port },
        l.id,
      );
      if (flow === undefined) {
        ctx.deadFlow = true;
        this.#logGone(ctx, t.proto, ip, t.remote.port);
      } else ctx.flowId = flow.id;
    }
    return 1;
  }

  /**
   * Logs (info, at most once a minute per connection) that a request was routed by a flow token
   * whose connection is gone: relayed, it fails with 430 Flow Failed (RFC 5626 §5.3.1), and the
   * registrar then removes the binding and tries the phone's next flow.
   */
  #logGone(ctx: RequestContext, proto: string, ip: string, port: number): void {
    const key = connKey(proto, ip, port);
    const closed = this.#closed.get(key);
    this.#goneLog.log(
      this.#core.logger,
      'info',
      key,
      {
        flow: `${proto}:${ip.includes(':') ? `[${ip}]` : ip}:${port}`,
        closed: closed ?? 'unknown',
        method: ctx.req.method,
        callId: ctx.req.callId,
      },
      `outbound: the flow of a flow token is gone (closed: ${closed ?? 'unknown'}): the request fails with 430 Flow Failed`,
    );
  }

  /** `check_flow_token()` (outbound.md §1.7 with decision Q-E4 for -6). */
  checkFlowToken(ctx: RequestContext): number {
    const req = ctx.req;
    // -8: the header block itself is not sound (the transport rejects such requests before any
    // script runs, so from the wire this is unreachable; a request built or injected by code can be)
    const bad = validateMessage(req);
    if (bad !== undefined && bad.field !== 'Route') return CheckFlowTokenRc.BadHeaders;
    if (!req.hasHeader(Hdr.Route)) return CheckFlowTokenRc.NoRoute;
    const routes = req.routes;
    const r = routes?.[0];
    if (routes === undefined || r === undefined) return CheckFlowTokenRc.BadRoute;
    if (!(r.uri instanceof SipUri)) return CheckFlowTokenRc.BadRoute;
    if (!this.#core.isMyself(r.uri)) return CheckFlowTokenRc.NotMyself;
    const d = this.decode(r.uri.user);
    if (!d.ok && d.code === -2) return CheckFlowTokenRc.NoToken;
    if (!d.ok || d.token.proto === 'sctp') {
      this.#core.stats.flowTokenFailures++;
      return CheckFlowTokenRc.CannotDecode;
    }
    const t = d.token;
    if (t.proto === 'udp') return CheckFlowTokenRc.Valid;
    const l = this.listenerFor(t);
    const ip = canonicalIp(t.remote.address);
    const flow =
      l === undefined
        ? undefined
        : this.#core.transport.findConnection(
            t.proto as Proto,
            { address: ip, port: t.remote.port },
            l.id,
          );
    if (flow !== undefined) return CheckFlowTokenRc.Valid;
    const why = this.#closed.get(connKey(t.proto, ip, t.remote.port));
    return why === Reason.Lifetime || why === Reason.KeepaliveTimeout
      ? CheckFlowTokenRc.Expired
      : CheckFlowTokenRc.NoConnection;
  }
}

function connKey(proto: string, ip: string, port: number): string {
  return `${proto}|${canonicalIp(ip).toLowerCase()}|${port}`;
}
