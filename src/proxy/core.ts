import { newTag } from '../message/build.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import type { SipUri } from '../message/parse/uri.js';
import type { TransactionLayer } from '../transaction/layer.js';
import { TxFailure } from '../transaction/types.js';
import type { FlowCloseReason, FlowInfo, ReceiveInfo } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { detach } from '../util/detach.js';
import { type Logger, RateLimitedLog } from '../util/logger.js';
import type { ProxyBranch } from './branch.js';
import { BranchSender } from './branch-send.js';
import {
  type BranchTarget,
  type LastError,
  type ProxyTx,
  ReplyContext,
  RequestContext,
} from './context.js';
import { Myself } from './myself.js';
import {
  failureContext,
  finishRequest,
  type MaybePromise,
  runRoute,
  runRouteAsync,
} from './pipeline.js';
import type { Resolver } from './resolver.js';
import { ProxyTransaction, type ProxyTxHost, type RelayedFinalHook } from './stateful.js';
import { forwardAck, forwardResponseStateless, replyStateless as slReply } from './stateless.js';
import {
  DEFAULT_PROXY_LIMITS,
  type NextHopSet,
  type ProxyLimits,
  type ProxyOptions,
  type ProxyStats,
  type ProxyTransport,
  type RouteHandlers,
  type TmParams,
} from './types.js';

export { scriptFrame } from './pipeline.js';
export type { RelayedFinalHook } from './stateful.js';
export type { ProxyStats } from './types.js';

/** Gets a response that matched no transaction first; true when it took it (e.g. a keep-alive answer). */
export type StrayResponseHook = (res: SipResponse, info: ReceiveInfo) => boolean;

/**
 * The proxy core (RFC 3261 §16; Kamailio core + tm + sl): the transaction user that runs the
 * routing script for every request and reply, forwards branches statefully, and implements the
 * tm/sl script functions on {@link RequestContext}. Its parts live beside it: running routes in
 * pipeline.ts, sending branches (next hop, failover) in branch-send.ts and next-hop.ts, stateless
 * replies and forwarding in stateless.ts, the response context in stateful.ts.
 */
export class ProxyCore implements ProxyTxHost<RequestContext> {
  readonly layer: TransactionLayer;
  readonly transport: ProxyTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tm: TmParams;
  readonly forceRport: boolean;
  readonly resolver: Resolver;
  readonly stats: ProxyStats = {
    requests: {},
    replies: {},
    scriptErrors: 0,
    flowFailed430: 0,
    flowTokenFailures: 0,
    refusedDraining: 0,
    limits: {},
    strayResponses: 0,
    nextHopFailovers: 0,
  };
  readonly limits: ProxyLimits;
  /** Final responses relayed upstream (see {@link RelayedFinalHook}). */
  relayedFinalHooks: RelayedFinalHook[] = [];
  /** Responses that matched no transaction (see {@link StrayResponseHook}). */
  strayResponseHooks: StrayResponseHook[] = [];
  /**
   * A UDP destination known to be gone (nathelper: a pinged UA that stopped answering): a flow
   * token naming it fails with 430 at once (RFC 5626 §5.3.1), as a closed connection does.
   */
  isUdpFlowGone: (listenerId: number, address: string, port: number) => boolean = () => false;
  readonly #limitLog = new RateLimitedLog(60_000);
  /** Shutting down: new dialog-creating requests get 503, everything else still runs. */
  draining = false;
  /** Relay responses that match no transaction statelessly by their Via (the seed's Kamailio does; off by default). */
  forwardStrayResponses = false;
  /** `$var(...)` storage: per process, persists between messages (Kamailio semantics). */
  readonly vars: Record<string, string | number | undefined> = {};
  #handlers: RouteHandlers;
  readonly #myself: Myself;
  #serverHeader: string | undefined;
  #localTags = new WeakMap<ProxyTx, string>();
  /**
   * INVITE transactions by Call-ID/From-tag/CSeq, for end-to-end ACK checks. The value is the
   * server transaction, which lets go of the request when it ends: V8 keeps a replaced Map table's
   * entries, and the proxy transaction would keep the whole request there (issue 12 §1).
   */
  #invites = new Map<string, object>();
  /** Listeners of the flows that closed, for `onFlowClose` subscribers. */
  flowCloseHooks: ((flow: FlowInfo, reason: FlowCloseReason) => void)[] = [];
  /** Sets of next hops by the `$du` that names them (the edge's registrar set). */
  readonly #hopSets = new Map<string, NextHopSet>();
  readonly #sender: BranchSender;

  constructor(
    layer: TransactionLayer,
    transport: ProxyTransport,
    handlers: RouteHandlers,
    opts: ProxyOptions,
  ) {
    this.layer = layer;
    this.transport = transport;
    this.#handlers = handlers;
    this.clock = opts.clock;
    this.logger = opts.logger;
    this.tm = opts.tm;
    this.forceRport = opts.forceRport;
    this.resolver = opts.resolver;
    this.#myself = new Myself(opts.aliases, transport);
    this.#serverHeader = opts.serverHeader;
    this.limits = { ...DEFAULT_PROXY_LIMITS, ...opts.limits };
    this.#sender = new BranchSender(this, (ptx, b, res, info) =>
      this.#onBranchResponse(ptx, b, res, info),
    );
  }

  /**
   * An abuse limit refused something: counted per limit (`flowgate_limit_refusals_total`) and
   * logged at most once per minute per `logKey` (a key per event, e.g. per banned source, gives
   * one line per event; a key per limit one line per minute however often it is hit).
   */
  limitHit(limit: string, logKey: string | undefined, obj: object, msg: string): void {
    this.stats.limits[limit] = (this.stats.limits[limit] ?? 0) + 1;
    if (logKey !== undefined)
      this.#limitLog.log(this.logger, 'warn', logKey, { limit, ...obj }, msg);
  }

  setHandlers(h: RouteHandlers): void {
    this.#handlers = h;
  }

  /**
   * A request whose `$du` is exactly `du` goes to the hops `set` plans for it, one after the other
   * on failure (the edge's registrar set: `$du = REGISTRAR`).
   */
  addNextHopSet(du: string, set: NextHopSet): void {
    this.#hopSets.set(du, set);
  }

  /** The set `du` names, if any. */
  nextHopSet(du: string | undefined): NextHopSet | undefined {
    return du === undefined ? undefined : this.#hopSets.get(du);
  }

  // ======================================================================== TU upcalls

  onRequest(req: SipRequest, info: ReceiveInfo): void {
    this.stats.requests[req.method] = (this.stats.requests[req.method] ?? 0) + 1;
    const ctx = new RequestContext(req, info, 'request', this.vars);
    if (
      this.draining &&
      req.method !== 'ACK' &&
      req.method !== 'CANCEL' &&
      req.toTag === undefined
    ) {
      // graceful shutdown: in-dialog requests and CANCELs still pass, new work goes elsewhere (RFC 3261 §21.5.4)
      this.stats.refusedDraining++;
      this.replyStateless(ctx, 503, 'Service Unavailable', ['Retry-After: 5']);
      return;
    }
    if (
      req.method !== 'ACK' &&
      req.method !== 'CANCEL' &&
      this.layer.serverCount >= this.limits.maxServerTransactions
    ) {
      // issue 10 §5: the transaction table is full; RFC 3261 §21.5.4 503 + Retry-After (§20.33)
      this.limitHit(
        'server_transactions',
        'server_transactions',
        { max: this.limits.maxServerTransactions },
        `server transaction table full (${this.limits.maxServerTransactions}): new requests get 503`,
      );
      this.replyStateless(ctx, 503, 'Service Unavailable', ['Retry-After: 5']);
      return;
    }
    runRoute(
      this,
      ctx,
      () => this.#handlers.request(ctx),
      () => finishRequest(this.logger, ctx),
    );
  }

  onStrayResponse(res: SipResponse, info: ReceiveInfo): void {
    for (const h of this.strayResponseHooks) if (h(res, info)) return;
    if (!this.forwardStrayResponses) {
      // RFC 6026 §7.3: a stateful proxy keeps its client transactions in Accepted to relay late 2xx,
      // so a response matching none is not ours to forward; forwarding it by its Via would let
      // anyone make this proxy send a message to an address of their choosing
      this.stats.strayResponses++;
      return;
    }
    const reply = this.#handlers.reply;
    const rctx = new ReplyContext(res, info, undefined, -1, this.vars);
    if (reply === undefined) {
      forwardResponseStateless(this.transport, res, rctx.edits);
      return;
    }
    runRoute(
      this,
      rctx,
      () => reply(rctx),
      () => {
        if (!rctx.dropped) forwardResponseStateless(this.transport, res, rctx.edits);
      },
    );
  }

  onFlowClose(flow: FlowInfo, reason: FlowCloseReason): void {
    for (const h of this.flowCloseHooks) h(flow, reason);
  }

  // ======================================================================== myself

  /** Kamailio `check_self`: the URI's host is one of our addresses or aliases (any transport), with a matching port; never for a GRUU. */
  isMyself(uri: SipUri): boolean {
    return this.#myself.isMyself(uri);
  }

  /**
   * Kamailio `is_domain_local`: the host (any port) is one of our aliases, listening addresses or
   * advertised names: a domain this element serves.
   */
  isDomainLocal(host: string): boolean {
    return this.#myself.isDomainLocal(host);
  }

  // ======================================================================== stateless replies (sl)

  /** Extra header lines for local replies (Server). */
  localHeaders(extra?: readonly string[]): string[] {
    const out = this.#serverHeader === undefined ? [] : [`Server: ${this.#serverHeader}`];
    if (extra) out.push(...extra);
    return out;
  }

  /** The To-tag of local replies of one transaction. */
  localTagFor(ptx: ProxyTx): string {
    let t = this.#localTags.get(ptx);
    if (t === undefined) {
      t = newTag();
      this.#localTags.set(ptx, t);
    }
    return t;
  }

  countReply(status: number): void {
    const k = String(status);
    this.stats.replies[k] = (this.stats.replies[k] ?? 0) + 1;
    if (status === 430) this.stats.flowFailed430++;
  }

  /** `sl_send_reply`: stateless reply to the request (RFC 3261 §16.2 / §8.2.6). */
  replyStateless(
    ctx: RequestContext,
    status: number,
    reason?: string,
    headers?: readonly string[],
  ): number {
    return slReply(this, ctx, status, reason, headers);
  }

  /** `send_reply`: stateful when the request has a transaction, else stateless. */
  sendReply(
    ctx: RequestContext,
    status: number,
    reason?: string,
    headers?: readonly string[],
  ): number {
    const ptx = ctx.tx ?? this.#txOf(ctx);
    if (ptx !== undefined) return this.tReply(ctx, status, reason, headers);
    return this.replyStateless(ctx, status, reason, headers);
  }

  /** `t_reply`: reply through the transaction (request route after t_newtran/t_relay, failure routes). */
  tReply(
    ctx: RequestContext,
    status: number,
    reason?: string,
    headers?: readonly string[],
  ): number {
    const ptx = ctx.tx ?? this.#txOf(ctx);
    if (ptx === undefined) return -1;
    if (status >= 200 && ptx.finalSent) return -1;
    ptx.replyLocal(status, reason ?? '', headers);
    if (status >= 200) ctx.finalSent = true;
    return 1;
  }

  /** `sl_reply_error`: answers the last recorded error with its own status (decision Q-T2); nothing if already answered (Q-R13). */
  replyError(ctx: RequestContext): number {
    if (ctx.finalSent || ctx.tx?.finalSent) return -1;
    const err: LastError = ctx.lastError ?? { status: 500, reason: 'Server Internal Error' };
    if (ctx.tx !== undefined) return this.tReply(ctx, err.status, err.reason, err.headers);
    return this.replyStateless(ctx, err.status, err.reason, err.headers);
  }

  #txOf(ctx: RequestContext): ProxyTx | undefined {
    const s = this.layer.findServer(ctx.req);
    const ptx = s?.context;
    return ptx instanceof ProxyTransaction ? ptx : undefined;
  }

  // ======================================================================== transactions (tm)

  #inviteKey(req: SipRequest): string {
    return `${req.callId}|${req.fromTag ?? ''}|${req.cseq?.seq ?? ''}`;
  }

  /** Creates the stateful context for a request; undefined when it is a retransmission of a known one. */
  #createTx(ctx: RequestContext): ProxyTx | undefined {
    const req = ctx.req;
    // the closure keeps only the key, not the request (finished transactions stay light)
    const inviteKey = req.method === 'INVITE' ? detach(this.#inviteKey(req)) : undefined;
    const server = this.layer.createServer(req, ctx.info, {
      onTerminated: () => {
        if (inviteKey !== undefined && this.#invites.get(inviteKey) === server)
          this.#invites.delete(inviteKey);
      },
    });
    if (server === undefined) return undefined;
    const ptx = new ProxyTransaction<RequestContext>(this, server, ctx);
    server.context = ptx;
    ctx.tx = ptx;
    if (req.method === 'INVITE') {
      if (inviteKey !== undefined) this.#invites.set(inviteKey, server);
      // RFC 3261 §16.2: a stateful proxy sends 100 Trying for INVITE at once (Kamailio auto_inv_100)
      if (this.tm.autoInv100) server.reply(100, 'Trying', this.localHeaders());
    }
    return ptx;
  }

  /** `t_newtran`: 1 created (or exists for this context), 0 retransmission (ends the script). */
  newTran(ctx: RequestContext): number {
    if (ctx.tx !== undefined) return 1;
    if (ctx.req.method === 'ACK') return -1;
    const ptx = this.#createTx(ctx);
    if (ptx === undefined) {
      this.layer.findServer(ctx.req)?.receiveRequest(ctx.req);
      return 0;
    }
    return 1;
  }

  /** `t_check_trans` (request route): CANCEL/ACK -> does the INVITE transaction exist; others: a retransmission is answered and ends the script (0). */
  checkTrans(ctx: RequestContext | ReplyContext): number {
    if (ctx instanceof ReplyContext) return ctx.tx !== undefined ? 1 : -1;
    if (ctx.kind !== 'request') return 1;
    const req = ctx.req;
    if (req.method === 'CANCEL') return this.layer.findInviteForCancel(req) !== undefined ? 1 : -1;
    if (req.method === 'ACK') {
      const s = this.layer.findServer(req);
      if (s !== undefined) return 0;
      return this.#invites.has(this.#inviteKey(req)) ? 1 : -1;
    }
    const s = this.layer.findServer(req);
    if (s === undefined) return -1;
    if (ctx.tx !== undefined && s.context === ctx.tx) return 1;
    s.receiveRequest(req);
    return 0;
  }

  /**
   * `t_relay`: forwards the request statefully to the R-URI destination (when new) and every
   * branch of the destination set. 1 when at least one branch left, negative when none could be
   * sent (`lastError` holds why), 0 for a retransmission. ACK is forwarded statelessly; CANCEL
   * cancels the matching INVITE's branches (RFC 3261 §16.10).
   */
  relay(ctx: RequestContext): number {
    const req = ctx.req;
    if (req.method === 'ACK') return forwardAck(this, ctx);
    if (req.method === 'CANCEL' && ctx.kind === 'request') return this.#relayCancel(ctx);
    let ptx = ctx.tx;
    if (ptx === undefined) {
      ptx = this.#createTx(ctx);
      if (ptx === undefined) {
        this.layer.findServer(req)?.receiveRequest(req);
        return 0;
      }
    }
    if (ptx.finalSent) return -1;
    if (ptx.cancelled) {
      ctx.lastError = { status: 487, reason: 'Request Terminated' };
      return -1;
    }
    const targets: BranchTarget[] = [];
    if (ctx.ruriIsNew || ctx.branches.length === 0) targets.push(ctx.ruriTarget());
    targets.push(...ctx.branches);
    ctx.branches = [];
    // issue 10 §5: one request forks into at most maxBranches branches (Kamailio MAX_BRANCHES)
    const room = this.limits.maxBranches - ptx.branches.length;
    if (targets.length > room) {
      this.limitHit(
        'branches',
        'branches',
        { max: this.limits.maxBranches, wanted: ptx.branches.length + targets.length },
        `a request would fork into more than ${this.limits.maxBranches} branches: the rest are not sent`,
      );
      targets.length = Math.max(room, 0);
      if (targets.length === 0) {
        ctx.lastError = { status: 500, reason: 'Too Many Branches' };
        return -1;
      }
    }
    ctx.ruriIsNew = false;
    if (ctx.failureRoute !== undefined) ptx.failureRoute = ctx.failureRoute;
    let sent = 0;
    let lastFail: ProxyBranch | undefined;
    let alive = false;
    ptx.hold();
    try {
      for (const t of targets) {
        const b = ptx.addBranch(t, ctx.branchFailureRoute, ctx);
        if (b.pending) sent++;
        else lastFail = b;
      }
      // a branch-failure route (done, or still running) may have taken over a failed branch
      alive = sent > 0 || ptx.pendingCount > 0 || ptx.routesInFlight > 0;
    } finally {
      ptx.release(alive);
    }
    if (!alive) {
      ctx.lastError =
        lastFail === undefined
          ? { status: 500, reason: 'No Destination' }
          : { status: lastFail.status, reason: lastFail.reason };
      return -1;
    }
    return 1;
  }

  #relayCancel(ctx: RequestContext): number {
    const inv = this.layer.findInviteForCancel(ctx.req);
    const ptx = inv?.context;
    // RFC 3261 §16.10: answer the CANCEL itself with 200, then cancel the pending branches
    const server = this.layer.createServer(ctx.req, ctx.info);
    if (!(ptx instanceof ProxyTransaction)) {
      if (server !== undefined)
        server.reply(481, 'Call/Transaction Does Not Exist', this.localHeaders());
      ctx.finalSent = true;
      return -1;
    }
    server?.reply(200, 'OK', this.localHeaders(), undefined, this.localTagFor(ptx));
    ctx.finalSent = true;
    ptx.cancel();
    return 1;
  }

  /** Sends one branch: resolves the next hop, writes the request, starts its client transaction (branch-send.ts). */
  sendBranch(ptx: ProxyTx, b: ProxyBranch, ctx: RequestContext): void {
    this.#sender.send(ptx, b, ctx);
  }

  #onBranchResponse(ptx: ProxyTx, b: ProxyBranch, res: SipResponse, info: ReceiveInfo): void {
    const reply = this.#handlers.reply;
    if (reply === undefined) {
      ptx.onResponse(b, res, undefined);
      return;
    }
    const rctx = new ReplyContext(res, info, ptx, b.index, this.vars);
    runRoute(
      this,
      rctx,
      () => reply(rctx),
      () => {
        // `drop` only suppresses provisional replies; a final must settle the branch
        if (rctx.dropped && res.status < 200) return;
        ptx.onResponse(b, res, rctx.edits.isEmpty ? undefined : rctx.edits);
      },
    );
  }

  // ======================================================================== failure routes

  /** Runs `event_route[tm:branch-failure:NAME]` for branch `b`. */
  runBranchFailure(ptx: ProxyTx, b: ProxyBranch): MaybePromise {
    const name = b.branchFailureRoute;
    if (name === undefined) return;
    const ctx = failureContext(ptx, 'branch-failure', b.index, this.vars);
    ctx.route = `event_route[tm:branch-failure:${name}]`;
    return runRouteAsync(this, ctx, () => this.#handlers.branchFailure(name, ctx));
  }

  /** Runs `failure_route[NAME]` once every branch has failed. */
  runFailure(ptx: ProxyTx, name: string): MaybePromise {
    const picked = ptx.pickedBranch();
    const ctx = failureContext(ptx, 'failure', picked?.index ?? -1, this.vars);
    ctx.route = `failure_route[${name}]`;
    return runRouteAsync(this, ctx, () => this.#handlers.failure(name, ctx));
  }

  /** Called when a failure route may have added branches through `t_relay`. */
  relayFromFailure(ctx: RequestContext): number {
    return this.relay(ctx);
  }

  /** Maps a client-transaction failure to a branch status (for tests and diagnostics). */
  static failureStatus(kind: TxFailure): number {
    return kind === TxFailure.Timeout ? 408 : kind === TxFailure.FlowGone ? 430 : 503;
  }
}
