import { createHmac, timingSafeEqual } from 'node:crypto';
import { Hdr } from '../../message/constants.js';
import type { SipRequest } from '../../message/message.js';
import type { NameAddr } from '../../message/parse/name-addr.js';
import { splitCommaOffsets } from '../../message/parse/split.js';
import { SipUri } from '../../message/parse/uri.js';
import type { RequestContext } from '../../proxy/context.js';
import type { Outbound } from '../outbound/index.js';
import { UseOutbound } from '../outbound/index.js';
import type { ProxyServices } from '../proxy-api.js';
import { differentSocket, socketUri } from './uri.js';

/** `modparam("rr", …)`. */
export interface RrParams {
  /** Add `;ftag=<From tag>` to Record-Route (default 0). */
  readonly append_fromtag: boolean;
  /** 0: never double; 1: double Record-Route when in and out sockets differ (default); 2: always. */
  readonly enable_double_rr: 0 | 1 | 2;
  /**
   * flowgate: sign our Record-Route with this key (`;fs=` = HMAC over the Call-ID and the From tag
   * of the dialog-creating request) and let `loose_route` follow an in-dialog request through our
   * route only with a valid signature, so that nobody can write our URI into a Route set of their
   * own making and have us relay it (issue 10 §4). Undefined: off (Kamailio).
   */
  readonly dialog_key?: Buffer | undefined;
}

const SIG_PARAM = 'fs';

/** The dialog signature of a Record-Route: 12 base64url characters. */
export function dialogSignature(key: Buffer, callId: string, tag: string): string {
  return createHmac('sha256', key)
    .update(callId)
    .update('\0')
    .update(tag)
    .digest()
    .subarray(0, 9)
    .toString('base64url');
}

export const DEFAULT_RR: RrParams = { append_fromtag: false, enable_double_rr: 1 };

/** `loose_route()` return codes (Kamailio rr `loose.h`). */
export const LooseRouteRc = {
  /** Routed by the route set. */
  Routed: 1,
  /** Routed by the route set and the flow token (RFC 5626 §5.3). */
  FlowRouted: 2,
  /** No Route header, or a parse error. */
  NoRoute: -1,
  /** The flow token is broken (tampered) or names no socket of ours. */
  FlowTokenBroken: -2,
  /** A preloaded Route to us was consumed and nothing is left. */
  Preloaded: -3,
} as const;

/**
 * Record-Route and loose routing (RFC 3261 §16.4, §16.6, §16.12, RFC 5658 double Record-Route),
 * with RFC 5626 flow tokens when the outbound module is loaded (Kamailio rr).
 */
export class RecordRoute {
  readonly #core: ProxyServices;
  readonly #params: RrParams;
  readonly #ob: Outbound | undefined;

  constructor(core: ProxyServices, params: RrParams, outbound?: Outbound) {
    this.#core = core;
    this.#params = params;
    this.#ob = outbound;
  }

  /**
   * `record_route([params])`: Record-Route header(s) for this request, written per branch once the
   * outgoing socket is known. 1 ok; -1 second call on the same message, or outbound "incoming"
   * without a token to copy (outbound.md §1.5, Q-E10).
   */
  recordRoute(ctx: RequestContext, extraParams = ''): number {
    if (ctx.recordRouted) return -1;
    let user: string | undefined;
    const ob = this.#ob?.useOutbound(ctx) ?? UseOutbound.No;
    if (ob === UseOutbound.Outgoing && this.#ob !== undefined) user = this.#ob.encode(ctx.info);
    else if (ob === UseOutbound.Incoming) {
      const top = ctx.req.routes?.[0]?.uri;
      user = top instanceof SipUri ? top.user : undefined;
      if (user === undefined || user === '') return -1;
    }
    ctx.recordRouted = true;
    const ftag =
      this.#params.append_fromtag && ctx.req.fromTag !== undefined
        ? `;ftag=${ctx.req.fromTag}`
        : '';
    let extra =
      extraParams === '' ? '' : extraParams.startsWith(';') ? extraParams : `;${extraParams}`;
    const key = this.#params.dialog_key;
    if (key !== undefined && ctx.req.toTag === undefined)
      extra += `;${SIG_PARAM}=${dialogSignature(key, ctx.req.callId ?? '', ctx.req.fromTag ?? '')}`;
    const mode = this.#params.enable_double_rr;
    ctx.headerGens.push((out, inbound) => {
      const inL = inbound.listener;
      // RFC 5658 §3.2: two Record-Routes when the request changes sockets; r2=on marks the pair
      if (mode === 2 || (mode === 1 && differentSocket(inL, out))) {
        return [
          { where: 'top', line: `Record-Route: <${socketUri(out, user)};r2=on;lr${ftag}${extra}>` },
          { where: 'top', line: `Record-Route: <${socketUri(inL, user)};r2=on;lr${ftag}${extra}>` },
        ];
      }
      return [{ where: 'top', line: `Record-Route: <${socketUri(out, user)};lr${ftag}${extra}>` }];
    });
    return 1;
  }

  /** Our route carries the signature of this dialog (made from either side's tag). */
  #signed(req: SipRequest, uri: SipUri): boolean {
    const key = this.#params.dialog_key as Buffer;
    const sig = uri.params.get(SIG_PARAM);
    if (typeof sig !== 'string' || sig.length !== 12) return false;
    const got = Buffer.from(sig, 'latin1');
    const callId = req.callId ?? '';
    for (const tag of [req.fromTag, req.toTag]) {
      if (tag === undefined) continue;
      if (timingSafeEqual(got, Buffer.from(dialogSignature(key, callId, tag), 'latin1')))
        return true;
    }
    return false;
  }

  /**
   * `loose_route()` (outbound.md §1.6): consumes Route values that name us (both of an r2 pair),
   * routes by a flow token when there is one, sets `$du` to the next loose router, and handles
   * strict routers (RFC 3261 §16.4 / §16.6 step 7).
   */
  looseRoute(ctx: RequestContext): number {
    const req = ctx.req;
    if (!req.hasHeader(Hdr.Route)) {
      // decision Q-E11: a clear reason for sl_reply_error, never a bare "server error"
      ctx.lastError = { status: 500, reason: 'No Route Header To Follow' };
      return LooseRouteRc.NoRoute;
    }
    const routes = req.routes;
    if (routes === undefined || routes.length === 0) {
      ctx.lastError = { status: 400, reason: 'Bad Route Header' };
      return LooseRouteRc.NoRoute;
    }
    const ruri = ctx.ruriParsed;
    if (ruri === undefined) return LooseRouteRc.NoRoute;
    const preloaded = req.toTag === undefined;
    let list = routes;
    let consumed = 0;
    if (!preloaded && ruri instanceof SipUri && this.#core.isMyself(ruri)) {
      // RFC 3261 §16.4: the previous hop was a strict router and put our URI in the Request-URI:
      // the last Route value becomes the Request-URI
      const last = list[list.length - 1] as NameAddr;
      ctx.ruri = last.uriText;
      removeRouteValues(ctx, list.length - 1, 1);
      list = list.slice(0, -1);
      if (list.length === 0) return LooseRouteRc.Routed;
    }
    const r = list[0] as NameAddr;
    let useOb = 0;
    let next: NameAddr | undefined = r;
    if (r.uri instanceof SipUri && this.#core.isMyself(r.uri)) {
      if (!preloaded && this.#params.dialog_key !== undefined && !this.#signed(req, r.uri)) {
        this.#core.limitHit(
          'dialog_signature',
          'dialog_signature',
          {},
          'in-dialog request through our Record-Route without a valid dialog signature: refused',
        );
        return LooseRouteRc.FlowTokenBroken;
      }
      if (this.#ob !== undefined) {
        useOb = this.#ob.processOutbound(ctx, r.uri.user);
        if (useOb < 0) {
          this.#core.stats.flowTokenFailures++;
          return LooseRouteRc.FlowTokenBroken;
        }
      }
      consumed = 1;
      // the r2 partner (our second Record-Route) is consumed in the same pass (Kamailio issue #1215)
      const second = list[1];
      if (
        r.uri.params.get('r2') === 'on' &&
        second !== undefined &&
        second.uri instanceof SipUri &&
        this.#core.isMyself(second.uri)
      )
        consumed = 2;
      removeRouteValues(ctx, 0, consumed);
      next = list[consumed];
      if (next === undefined) {
        if (useOb === 1) return LooseRouteRc.FlowRouted;
        return preloaded ? LooseRouteRc.Preloaded : LooseRouteRc.Routed;
      }
    }
    if (!(next.uri instanceof SipUri) || !next.uri.hasParam('lr')) {
      // RFC 3261 §16.6 step 7: a strict next hop: it goes into the Request-URI, the old one to the end of Route
      ctx.edits.append(`Route: <${ctx.ruri}>`);
      removeRouteValues(ctx, consumed, 1);
      ctx.ruri = next.uriText;
    } else if (useOb !== 1) {
      ctx.du = next.uriText;
    }
    return useOb === 1 ? LooseRouteRc.FlowRouted : LooseRouteRc.Routed;
  }
}

/** Route values already consumed per request (several loose_route steps may remove values of one header). */
const consumedRoutes = new WeakMap<RequestContext, Set<number>>();

/**
 * Removes Route values [from, from+count) of the original message from its forwarded copy, header
 * field by header field (a header with several values keeps the rest).
 */
export function removeRouteValues(ctx: RequestContext, from: number, count: number): void {
  const req = ctx.req;
  let gone = consumedRoutes.get(ctx);
  if (gone === undefined) {
    gone = new Set();
    consumedRoutes.set(ctx, gone);
  }
  for (let i = from; i < from + count; i++) gone.add(i);
  let idx = 0;
  for (const k of req.indexesOf(Hdr.Route)) {
    const v = req.headerValueAt(k);
    const o = splitCommaOffsets(v);
    const n = o.length / 2;
    const keep: string[] = [];
    let touched = false;
    for (let i = 0; i < n; i++) {
      if (gone.has(idx + i)) touched = true;
      else keep.push(v.slice(o[2 * i], o[2 * i + 1]));
    }
    if (touched) {
      if (keep.length === 0) ctx.edits.removeHeader(k);
      else ctx.edits.replaceHeader(k, keep.join(', '));
    }
    idx += n;
  }
}
