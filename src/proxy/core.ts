import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { buildResponseBytes, fnv1a, newTag, statelessToTag } from '../message/build.js';
import { Hdr } from '../message/constants.js';
import { EditList, serialize } from '../message/edits.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { splitCommaOffsets } from '../message/parse/split.js';
import { parseUri, SipUri } from '../message/parse/uri.js';
import type { ClientTransaction } from '../transaction/client.js';
import type { TransactionLayer } from '../transaction/layer.js';
import { responseTarget } from '../transaction/response-target.js';
import type { ClientTransactionUser } from '../transaction/types.js';
import { TxFailure } from '../transaction/types.js';
import type {
  FlowCloseReason,
  FlowInfo,
  ListenerInfo,
  ReceiveInfo,
  SendTarget,
} from '../transport/types.js';
import { Proto, protoFromToken } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import { detach } from '../util/detach.js';
import { type Logger, RateLimitedLog } from '../util/logger.js';
import {
  type BranchTarget,
  ExitSignal,
  type LastError,
  ReplyContext,
  RequestContext,
} from './context.js';
import { buildBranchRequest, viaWithReceived } from './forward.js';
import type { NextHop, Resolver } from './resolver.js';
import { type ProxyBranch, ProxyTransaction } from './stateful.js';
import {
  DEFAULT_PROXY_LIMITS,
  type NextHopSet,
  type ProxyLimits,
  type ProxyOptions,
  type ProxyTransport,
  type RouteHandlers,
  type TmParams,
} from './types.js';
import { restAfterFirstValue } from './via.js';

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

/**
 * Called for every final response relayed upstream, with the request it answers and where that
 * came from (the edge counts failed authentications per client source from 401/407; nathelper
 * starts keep-alives from a REGISTER's 2xx).
 */
export type RelayedFinalHook = (req: SipRequest, info: ReceiveInfo, res: SipResponse) => void;

/** Gets a response that matched no transaction first; true when it took it (e.g. a keep-alive answer). */
export type StrayResponseHook = (res: SipResponse, info: ReceiveInfo) => boolean;

type MaybePromise = void | Promise<void>;

function isPromise(v: unknown): v is Promise<void> {
  return (
    typeof v === 'object' && v !== null && typeof (v as { then?: unknown }).then === 'function'
  );
}

/**
 * The proxy core (RFC 3261 §16; Kamailio core + tm + sl): the transaction user that runs the
 * routing script for every request and reply, forwards branches statefully, and implements the
 * tm/sl script functions on {@link RequestContext}.
 */
export class ProxyCore {
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
  #aliases: Set<string>;
  #serverHeader: string | undefined;
  #localTags = new WeakMap<ProxyTransaction, string>();
  /** INVITE transactions by Call-ID/From-tag/CSeq, for end-to-end ACK checks. */
  #invites = new Map<string, ProxyTransaction>();
  #txCounter = 0;
  readonly #txPrefix = randomBytes(3).toString('hex');
  #localAddrs: Set<string> | undefined;
  /** Listeners of the flows that closed, for `onFlowClose` subscribers. */
  flowCloseHooks: ((flow: FlowInfo, reason: FlowCloseReason) => void)[] = [];
  /** Sets of next hops by the `$du` that names them (the edge's registrar set). */
  readonly #hopSets = new Map<string, NextHopSet>();

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
    this.#aliases = new Set(opts.aliases.map((a) => a.toLowerCase()));
    this.#serverHeader = opts.serverHeader;
    this.limits = { ...DEFAULT_PROXY_LIMITS, ...opts.limits };
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
    this.#run(
      ctx,
      () => this.#handlers.request(ctx),
      () => this.#finishRequest(ctx),
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
      this.#forwardResponseStateless(res, rctx.edits);
      return;
    }
    this.#run(
      rctx,
      () => reply(rctx),
      () => {
        if (!rctx.dropped) this.#forwardResponseStateless(res, rctx.edits);
      },
    );
  }

  onFlowClose(flow: FlowInfo, reason: FlowCloseReason): void {
    for (const h of this.flowCloseHooks) h(flow, reason);
  }

  /** Runs a route with Kamailio's exit semantics and the script error boundary; `done` runs after it (also after an async route). */
  #run(ctx: RequestContext | ReplyContext, fn: () => MaybePromise, done: () => void): void {
    let r: MaybePromise;
    try {
      r = fn();
    } catch (e) {
      this.#scriptError(ctx, e);
      done();
      return;
    }
    if (isPromise(r)) {
      r.then(done, (e: unknown) => {
        this.#scriptError(ctx, e);
        done();
      });
      return;
    }
    done();
  }

  #scriptError(ctx: RequestContext | ReplyContext, e: unknown): void {
    if (e instanceof ExitSignal) {
      if (e.drop && ctx instanceof ReplyContext) ctx.dropped = true;
      return;
    }
    this.stats.scriptErrors++;
    const at = e instanceof Error ? scriptFrame(e.stack) : undefined;
    this.logger.error(
      { err: e, route: ctx.route, at },
      `script error in ${ctx.route}${at === undefined ? '' : ` at ${at}`}`,
    );
    // a transaction exists: answer it, never leave it hanging
    if (ctx instanceof RequestContext && ctx.tx !== undefined && !ctx.tx.finalSent)
      ctx.tx.replyLocal(500, 'Server Internal Error');
  }

  /** After request_route: a transaction with nothing pending and no reply is answered (never left hanging). */
  #finishRequest(ctx: RequestContext): void {
    const ptx = ctx.tx;
    if (ptx === undefined || ptx.finalSent || ptx.pendingCount > 0 || ptx.routesInFlight > 0)
      return;
    if (ptx.branches.length > 0) {
      ptx.sendBest();
      return;
    }
    const err = ctx.lastError ?? { status: 500, reason: 'No Destination For Request' };
    this.logger.warn(
      { callId: ctx.req.callId, status: err.status },
      'transaction created but the script neither relayed nor replied',
    );
    ptx.replyLocal(err.status, err.reason);
  }

  // ======================================================================== myself

  /** Kamailio `check_self`: the URI's host is one of our addresses or aliases (any transport), with a matching port; never for a GRUU. */
  isMyself(uri: SipUri): boolean {
    if (uri.params.has('gr')) return false;
    const host = uri.hostname;
    const port = uri.port ?? (uri.scheme === 'sips' || uri.transport === 'tls' ? 5061 : 5060);
    if (this.#aliases.has(host)) return true;
    for (const l of this.transport.listeners) {
      const adv = l.advertise;
      if (
        adv !== undefined &&
        adv.host.toLowerCase().replace(/^\[|\]$/g, '') === host &&
        (adv.port === port || uri.port === undefined)
      )
        return true;
      if (l.port !== port) continue;
      const a = l.address.toLowerCase();
      if (a === host) return true;
      if ((a === '0.0.0.0' || a === '::') && this.#localAddresses().has(host)) return true;
    }
    return false;
  }

  /**
   * Kamailio `is_domain_local`: the host (any port) is one of our aliases, listening addresses or
   * advertised names: a domain this element serves.
   */
  isDomainLocal(host: string): boolean {
    const h = host.toLowerCase().replace(/^\[|\]$/g, '');
    if (this.#aliases.has(h)) return true;
    for (const l of this.transport.listeners) {
      if (l.advertise !== undefined && l.advertise.host.toLowerCase().replace(/^\[|\]$/g, '') === h)
        return true;
      const a = l.address.toLowerCase();
      if (a === h) return true;
      if ((a === '0.0.0.0' || a === '::') && this.#localAddresses().has(h)) return true;
    }
    return false;
  }

  #localAddresses(): Set<string> {
    if (this.#localAddrs === undefined) {
      this.#localAddrs = new Set(['127.0.0.1', '::1', 'localhost']);
      for (const list of Object.values(networkInterfaces()))
        for (const i of list ?? []) this.#localAddrs.add(i.address.toLowerCase());
    }
    return this.#localAddrs;
  }

  // ======================================================================== stateless replies (sl)

  /** Extra header lines for local replies (Server). */
  localHeaders(extra?: readonly string[]): string[] {
    const out = this.#serverHeader === undefined ? [] : [`Server: ${this.#serverHeader}`];
    if (extra) out.push(...extra);
    return out;
  }

  /** The To-tag of local replies of one transaction. */
  localTagFor(ptx: ProxyTransaction): string {
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
    const req = ctx.req;
    if (req.method === 'ACK') return -1; // RFC 3261 §17: an ACK is never answered
    const top = req.topVia;
    const topVia = top === undefined ? undefined : viaWithReceived(top, ctx.info, this.forceRport);
    const bytes = buildResponseBytes(req, status, {
      reason,
      topVia,
      toTag: statelessToTag(req),
      headers: this.localHeaders(headers),
    });
    const r = this.transport.send(bytes, responseTarget(req, ctx.info, this.forceRport));
    if (status >= 200) ctx.finalSent = true;
    this.countReply(status);
    return r.ok ? 1 : -1;
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

  #txOf(ctx: RequestContext): ProxyTransaction | undefined {
    const s = this.layer.findServer(ctx.req);
    const ptx = s?.context;
    return ptx instanceof ProxyTransaction ? ptx : undefined;
  }

  // ======================================================================== transactions (tm)

  #inviteKey(req: SipRequest): string {
    return `${req.callId}|${req.fromTag ?? ''}|${req.cseq?.seq ?? ''}`;
  }

  /** Creates the stateful context for a request; undefined when it is a retransmission of a known one. */
  #createTx(ctx: RequestContext): ProxyTransaction | undefined {
    const req = ctx.req;
    let ptx: ProxyTransaction | undefined;
    // the closure keeps only the key, not the request (finished transactions stay light)
    const inviteKey = req.method === 'INVITE' ? detach(this.#inviteKey(req)) : undefined;
    const server = this.layer.createServer(req, ctx.info, {
      onTerminated: () => {
        if (ptx !== undefined && inviteKey !== undefined && this.#invites.get(inviteKey) === ptx)
          this.#invites.delete(inviteKey);
      },
    });
    if (server === undefined) return undefined;
    ptx = new ProxyTransaction(this, server, ctx);
    server.context = ptx;
    ctx.tx = ptx;
    if (req.method === 'INVITE') {
      if (inviteKey !== undefined) this.#invites.set(inviteKey, ptx);
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
    if (req.method === 'ACK') return this.#forwardAck(ctx);
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

  /** Stateless forwarding of an ACK for a 2xx (RFC 3261 §16.11 / §13.2.2.4: end to end). */
  #forwardAck(ctx: RequestContext): number {
    const target = ctx.ruriTarget();
    const top = ctx.req.topVia;
    // RFC 3261 §16.11: a stateless branch id derived from the incoming one
    const branchId = `z9hG4bK${fnv1a(`${top?.params.get('branch') ?? ''}|${ctx.req.callId}`)}.ack`;
    const go = (out: ListenerInfo, st: SendTarget): void => {
      const buf = buildBranchRequest(this.#buildInput(ctx), target, out, branchId);
      this.transport.send(buf, st);
    };
    if (target.flowId !== undefined) {
      const f = this.transport.getFlow(target.flowId);
      if (f === undefined) return -1;
      go(f.listener, { flowId: target.flowId });
      return 1;
    }
    const hop = this.#hopUri(ctx, target);
    if (hop === undefined) return -1;
    const set = this.nextHopSet(target.du);
    const n = set === undefined ? this.resolver.resolveNumeric(hop) : undefined;
    const send = (h: NextHop): void => {
      const wait = this.#learnRoute(h, target);
      if (wait !== undefined) {
        wait.then(() => send2(h), noop);
        return;
      }
      send2(h);
    };
    const send2 = (h: NextHop): void => {
      const out = this.#selectOut(h, target);
      if (out !== undefined)
        go(out, { proto: h.proto, address: h.address, port: h.port, listenerId: out.id });
    };
    const first = (hops: NextHop[]): void => {
      if (hops[0] !== undefined) send(hops[0]);
    };
    if (n !== undefined) send(n);
    else if (set !== undefined) {
      // the ACK of a 2xx is no transaction: it goes to the first hop of the set that is up
      const plan = set.plan(ctx.req, target.uri);
      if (Array.isArray(plan)) first(plan);
      else plan.then(first, noop);
    } else this.resolver.resolve(hop).then(first, noop);
    return 1;
  }

  #buildInput(ctx: RequestContext) {
    return {
      req: ctx.req,
      info: ctx.info,
      edits: ctx.edits,
      headerGens: ctx.headerGens,
      maxForwardsDone: ctx.maxForwardsDone,
      forceRport: this.forceRport,
    };
  }

  /** The URI that decides the next hop: `$du`, else the first remaining Route (loose router), else the R-URI (RFC 3261 §16.6 step 7). */
  #hopUri(ctx: RequestContext, t: BranchTarget): SipUri | undefined {
    let text = t.du;
    if (text === undefined && t.path !== undefined && t.path.length > 0)
      text = uriOf(t.path[0] as string);
    if (text === undefined) {
      // RFC 3261 §16.6 step 7: a remaining loose-routing Route decides the next hop
      const ks = ctx.req.indexesOf(Hdr.Route);
      const list = ks.length > 0 ? ctx.req.addressList(Hdr.Route) : undefined;
      if (list !== undefined) {
        // the address list is in header order; skip the values of removed headers
        let idx = 0;
        for (const k of ks) {
          const n = splitCommaOffsets(ctx.req.headerValueAt(k)).length / 2;
          if (!ctx.edits.removed?.has(k)) {
            const first = list[idx];
            if (first !== undefined && first.uri instanceof SipUri && first.uri.hasParam('lr'))
              text = first.uriText;
            break;
          }
          idx += n;
        }
      }
    }
    text ??= t.uri;
    const r = parseUri(text);
    return r.ok && r.value instanceof SipUri ? r.value : undefined;
  }

  #selectOut(h: NextHop, t: BranchTarget): ListenerInfo | undefined {
    if (t.listenerId !== undefined) {
      const l = this.transport.listeners.find((x) => x.id === t.listenerId);
      if (
        l !== undefined &&
        (l.proto === h.proto || (h.proto === Proto.TCP && l.proto === Proto.TCP))
      )
        return l;
    }
    const fam = h.address.includes(':') ? 6 : 4;
    // several listeners: the one that fits the destination, whatever their order in the file
    return this.transport.selectListener(h.proto, fam, h.address);
  }

  /** What {@link #selectOut} must learn first about the route to `h`, when the target does not name a listener. */
  #learnRoute(h: NextHop, t: BranchTarget): Promise<void> | undefined {
    if (t.listenerId !== undefined) return undefined;
    return this.transport.learnRoute?.(h.proto, h.address);
  }

  /** Sends one branch: resolves the next hop, writes the request, starts its client transaction. */
  sendBranch(ptx: ProxyTransaction, b: ProxyBranch, ctx: RequestContext): void {
    const t = b.target;
    if (t.flowGone === true || t.flowId !== undefined) {
      const flow = t.flowId === undefined ? undefined : this.transport.getFlow(t.flowId);
      // RFC 5626 §5.3.1: the flow named by the token is gone: 430 at once (decision Q-E2)
      if (flow === undefined) {
        ptx.branchFailed(b, 430, 'Flow Failed');
        return;
      }
      this.#emit(ptx, b, ctx, flow.listener, { flowId: flow.id }, undefined);
      return;
    }
    const uri = this.#hopUri(ctx, t);
    if (uri === undefined) {
      ptx.branchFailed(b, 416, 'Unsupported URI Scheme');
      return;
    }
    const set = this.nextHopSet(t.du);
    if (set !== undefined) {
      // a registrar set: the hops that are up, in the set's order, tried one after the other
      const go = (hops: NextHop[]): void => {
        if (!b.pending) return;
        const h = hops[0];
        if (h === undefined) {
          ptx.branchFailed(b, 503, `No ${capitalized(set.name)} Available`);
          return;
        }
        b.hops = hops;
        b.hopIndex = 0;
        b.hopSet = set;
        this.#emitHop(ptx, b, ctx, h);
      };
      const plan = set.plan(ctx.req, t.uri);
      if (Array.isArray(plan)) go(plan);
      else plan.then(go, () => ptx.branchFailed(b, 478, 'Unresolvable Destination'));
      return;
    }
    const n = this.resolver.resolveNumeric(uri);
    if (n !== undefined) {
      this.#emitHop(ptx, b, ctx, n);
      return;
    }
    this.resolver.resolve(uri).then(
      (hops) => {
        const h = hops[0];
        if (h === undefined) ptx.branchFailed(b, 478, 'Unresolvable Destination');
        else if (b.pending) {
          // RFC 3263 §4.3: the other addresses are tried in turn when this one fails
          if (hops.length > 1) {
            b.hops = hops;
            b.hopIndex = 0;
          }
          this.#emitHop(ptx, b, ctx, h);
        }
      },
      () => ptx.branchFailed(b, 478, 'Unresolvable Destination'),
    );
  }

  /**
   * The current hop of `b` failed (`why`): RFC 3263 §4.3, a new request (a new client transaction,
   * with its own branch id) to the next hop. False when there is none left, or the branch no
   * longer needs one; the set the hop came from is told either way.
   */
  #nextHop(ptx: ProxyTransaction, b: ProxyBranch, ctx: RequestContext, why: string): boolean {
    const hops = b.hops;
    const cur = hops?.[b.hopIndex];
    const next = hops?.[b.hopIndex + 1];
    const go = next !== undefined && b.pending && !b.cancelled && !ptx.finalSent && !ptx.cancelled;
    if (cur !== undefined) b.hopSet?.report(cur, { ok: false, why, failedOver: go });
    this.clock.clearTimer(b.hopTimer);
    b.hopTimer = undefined;
    if (!go || next === undefined || cur === undefined) return false;
    b.hopIndex++;
    this.stats.nextHopFailovers++;
    this.logger.debug(
      {
        callId: ctx.req.callId,
        method: ctx.req.method,
        from: hopText(cur),
        to: hopText(next),
        why,
      },
      `next hop ${hopText(cur)} failed (${why}): trying ${hopText(next)}`,
    );
    this.#emitHop(ptx, b, ctx, next);
    return true;
  }

  /** A hop failed before a client transaction ran: the next hop, or the branch fails with `status`. */
  #hopFailed(
    ptx: ProxyTransaction,
    b: ProxyBranch,
    ctx: RequestContext,
    status: number,
    reason: string,
    why: string,
  ): void {
    if (!this.#nextHop(ptx, b, ctx, why)) ptx.branchFailed(b, status, reason);
  }

  #emitHop(ptx: ProxyTransaction, b: ProxyBranch, ctx: RequestContext, h: NextHop): void {
    const wait = this.#learnRoute(h, b.target);
    if (wait !== undefined) {
      // the kernel's source address decides between listeners: asked once per destination
      wait.then(
        () => {
          if (b.pending) this.#emitOut(ptx, b, ctx, h);
        },
        () => {
          if (b.pending) this.#emitOut(ptx, b, ctx, h);
        },
      );
      return;
    }
    this.#emitOut(ptx, b, ctx, h);
  }

  #emitOut(ptx: ProxyTransaction, b: ProxyBranch, ctx: RequestContext, h: NextHop): void {
    const out = this.#selectOut(h, b.target);
    if (out === undefined) {
      this.#hopFailed(ptx, b, ctx, 503, `No ${h.proto} Socket`, `no ${h.proto} listener`);
      return;
    }
    // an existing connection is reused by the transport (RFC 3261 §18.1.1)
    this.#emit(
      ptx,
      b,
      ctx,
      out,
      {
        proto: h.proto,
        address: h.address,
        port: h.port,
        listenerId: out.id,
      },
      h,
    );
  }

  #emit(
    ptx: ProxyTransaction,
    b: ProxyBranch,
    ctx: RequestContext,
    out: ListenerInfo,
    target: SendTarget,
    hop: NextHop | undefined,
  ): void {
    if (this.layer.clientCount >= this.limits.maxClientTransactions) {
      this.limitHit(
        'client_transactions',
        'client_transactions',
        { max: this.limits.maxClientTransactions },
        `client transaction table full (${this.limits.maxClientTransactions}): new branches fail with 503`,
      );
      ptx.branchFailed(b, 503, 'Service Unavailable');
      return;
    }
    const attempt = b.attempts++;
    // RFC 3263 §4.3: the request to the next hop is a new transaction, with a branch id of its own
    const branchId = `z9hG4bK${this.#txPrefix}${this.#txIdOf(ptx)}.${b.index}${attempt === 0 ? '' : `.${attempt}`}`;
    const buf = buildBranchRequest(this.#buildInput(ctx), b.target, out, branchId);
    let tx: ClientTransaction | undefined;
    let answered = false;
    const user: ClientTransactionUser = {
      onResponse: (res, info) => {
        if (tx !== undefined && b.client !== tx) return; // an attempt given up already
        if (!answered && tx !== undefined) {
          answered = true;
          this.clock.clearTimer(b.hopTimer);
          b.hopTimer = undefined;
          // RFC 3263 §4.3: a 503 from this hop sends the request to the next one (if any)
          if (res.status === 503 && b.pending && this.#nextHop(ptx, b, ctx, '503')) return;
          if (hop !== undefined && res.status !== 503) b.hopSet?.report(hop, { ok: true });
        }
        this.#onBranchResponse(ptx, b, res, info);
      },
      onFailure: (kind) => {
        if (tx !== undefined && b.client !== tx) return; // an attempt given up already
        // RFC 3263 §4.3: a transport error, or timer B/F without any response: the next hop
        if (
          !answered &&
          kind !== TxFailure.FlowGone &&
          this.#nextHop(ptx, b, ctx, kind === TxFailure.Timeout ? 'timeout' : 'transport error')
        )
          return;
        ptx.onClientFailure(b, kind);
      },
    };
    const sent = this.layer.sendRequest(buf, branchId, ctx.req.method, target, user);
    const result = sent.result;
    if (!result.ok) {
      if (result.code === 'SIP_ERR_FLOW_GONE') ptx.branchFailed(b, 430, 'Flow Failed');
      else if (hop !== undefined)
        this.#hopFailed(ptx, b, ctx, 477, 'Error Sending To Next Hop', 'transport error');
      else ptx.branchFailed(b, 477, 'Error Sending To Next Hop');
      return;
    }
    tx = sent.tx;
    b.client = tx;
    const set = b.hopSet;
    if (set !== undefined && set.timeoutMs > 0 && b.hops?.[b.hopIndex + 1] !== undefined) {
      // a set's hop that has not answered at all within its timeout is given up on while
      // another one is left (Kamailio dispatcher setups shorten fr_timer the same way)
      const given = tx;
      this.clock.clearTimer(b.hopTimer);
      b.hopTimer = this.clock.setTimer(set.timeoutMs, () => {
        b.hopTimer = undefined;
        if (answered || b.client !== given || !b.pending) return;
        given.terminate();
        if (!this.#nextHop(ptx, b, ctx, 'timeout'))
          ptx.branchFailed(b, 408, 'Request Timeout', true);
      });
    }
  }

  #txIds = new WeakMap<ProxyTransaction, string>();
  #txIdOf(ptx: ProxyTransaction): string {
    let id = this.#txIds.get(ptx);
    if (id === undefined) {
      this.#txCounter = (this.#txCounter + 1) >>> 0;
      id = this.#txCounter.toString(36);
      this.#txIds.set(ptx, id);
    }
    return id;
  }

  #onBranchResponse(
    ptx: ProxyTransaction,
    b: ProxyBranch,
    res: SipResponse,
    info: ReceiveInfo,
  ): void {
    const reply = this.#handlers.reply;
    if (reply === undefined) {
      ptx.onResponse(b, res, undefined);
      return;
    }
    const rctx = new ReplyContext(res, info, ptx, b.index, this.vars);
    this.#run(
      rctx,
      () => reply(rctx),
      () => {
        // `drop` only suppresses provisional replies; a final must settle the branch
        if (rctx.dropped && res.status < 200) return;
        ptx.onResponse(b, res, rctx.edits.isEmpty ? undefined : rctx.edits);
      },
    );
  }

  /** Relays a response by its Via without a transaction (RFC 3261 §16.11). */
  #forwardResponseStateless(res: SipResponse, edits: EditList): void {
    const vias = res.vias;
    if (vias === undefined || vias.length < 2) return;
    const k = res.indexOf(Hdr.Via);
    const e = new EditList();
    const rest = restAfterFirstValue(res.headerValueAt(k));
    if (rest === undefined) e.removeHeader(k);
    else e.replaceHeader(k, rest);
    const next = vias[1];
    if (next === undefined) return;
    const proto = protoFromToken(next.transport) ?? Proto.UDP;
    const rcv = next.params.get('received');
    const rport = next.params.get('rport');
    const address = typeof rcv === 'string' ? rcv : next.host.replace(/^\[|\]$/g, '');
    const port = typeof rport === 'string' && rport !== '' ? Number(rport) : (next.port ?? 5060);
    const conn =
      proto === Proto.UDP ? undefined : this.transport.findConnection(proto, { address, port });
    const target: SendTarget = conn !== undefined ? { flowId: conn.id } : { proto, address, port };
    this.transport.send(serialize(res, e, edits), target);
  }

  // ======================================================================== failure routes

  /** Runs `event_route[tm:branch-failure:NAME]` for branch `b`. */
  runBranchFailure(ptx: ProxyTransaction, b: ProxyBranch): MaybePromise {
    const name = b.branchFailureRoute;
    if (name === undefined) return;
    const ctx = this.#failureContext(ptx, 'branch-failure', b.index);
    ctx.route = `event_route[tm:branch-failure:${name}]`;
    return this.#runAsync(ctx, () => this.#handlers.branchFailure(name, ctx));
  }

  /** Runs `failure_route[NAME]` once every branch has failed. */
  runFailure(ptx: ProxyTransaction, name: string): MaybePromise {
    const picked = ptx.pickedBranch();
    const ctx = this.#failureContext(ptx, 'failure', picked?.index ?? -1);
    ctx.route = `failure_route[${name}]`;
    return this.#runAsync(ctx, () => this.#handlers.failure(name, ctx));
  }

  #runAsync(ctx: RequestContext, fn: () => MaybePromise): MaybePromise {
    let r: MaybePromise;
    try {
      r = fn();
    } catch (e) {
      this.#scriptError(ctx, e);
      return;
    }
    if (isPromise(r)) return r.catch((e: unknown) => this.#scriptError(ctx, e));
  }

  /** A faked copy of the request for a failure route (Kamailio: R-URI as relayed, lumps kept). */
  #failureContext(
    ptx: ProxyTransaction,
    kind: 'failure' | 'branch-failure',
    branchIndex: number,
  ): RequestContext {
    const base = ptx.ctx;
    const ctx = new RequestContext(base.req, base.info, kind, this.vars);
    const first = ptx.branches[0];
    if (first !== undefined) ctx.ruri = first.target.uri;
    ctx.ruriIsNew = false;
    ctx.edits = base.edits.clone();
    ctx.headerGens = base.headerGens;
    ctx.maxForwardsDone = base.maxForwardsDone;
    ctx.flags = base.flags;
    ctx.avps = base.avps;
    ctx.tx = ptx;
    ctx.branchIndex = branchIndex;
    return ctx;
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

/**
 * The script's own line in a stack: the first frame outside flowgate's layers (proxy, transaction,
 * transport, message, modules, util, the script API) and outside Node itself.
 */
export function scriptFrame(stack: string | undefined): string | undefined {
  if (stack === undefined) return undefined;
  for (const line of stack.split('\n').slice(1)) {
    const l = line.trim();
    if (!l.startsWith('at ')) continue;
    if (
      /[\\/](src|dist)[\\/](proxy|transaction|transport|message|modules|util)[\\/]|[\\/](src|dist)[\\/]script[\\/](context|api)\.[jt]s|node:|node_modules/.test(
        l,
      )
    )
      continue;
    const m = /\(([^()]+)\)$/.exec(l);
    return m?.[1] ?? l.slice(3);
  }
  return undefined;
}

function noop(): void {}

function hopText(h: NextHop): string {
  return `${h.proto}:${h.address.includes(':') ? `[${h.address}]` : h.address}:${h.port}`;
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function uriOf(nameAddr: string): string {
  const lt = nameAddr.indexOf('<');
  const gt = nameAddr.indexOf('>', lt + 1);
  return lt >= 0 && gt > lt ? nameAddr.slice(lt + 1, gt) : (nameAddr.split(';')[0] ?? nameAddr);
}
