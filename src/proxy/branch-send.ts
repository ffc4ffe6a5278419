import { randomBytes } from 'node:crypto';
import type { SipResponse } from '../message/message.js';
import type { ClientTransaction } from '../transaction/client.js';
import type { TransactionLayer } from '../transaction/layer.js';
import type { ClientTransactionUser } from '../transaction/types.js';
import { TxFailure } from '../transaction/types.js';
import type { ListenerInfo, ReceiveInfo, SendTarget } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import type { ProxyBranch } from './branch.js';
import type { ProxyTx, RequestContext } from './context.js';
import { buildBranchRequest } from './forward.js';
import { branchInput, hopText, hopUri, learnRoute, selectOut } from './next-hop.js';
import type { NextHop, Resolver } from './resolver.js';
import type { NextHopSet, ProxyLimits, ProxyStats, ProxyTransport } from './types.js';

/** What sending branches needs of the proxy core (`ProxyCore` is one). */
export interface BranchSendHost {
  readonly layer: Pick<TransactionLayer, 'clientCount' | 'sendRequest'>;
  readonly transport: ProxyTransport;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly limits: ProxyLimits;
  readonly stats: Pick<ProxyStats, 'nextHopFailovers'>;
  readonly resolver: Resolver;
  readonly forceRport: boolean;
  limitHit(limit: string, logKey: string | undefined, obj: object, msg: string): void;
  nextHopSet(du: string | undefined): NextHopSet | undefined;
}

/** Gets every response of a branch's client transaction (the core runs onreply_route on it). */
export type BranchResponseHandler = (
  ptx: ProxyTx,
  b: ProxyBranch,
  res: SipResponse,
  info: ReceiveInfo,
) => void;

/**
 * Sends the branches of stateful transactions (Kamailio tm `t_send_branch`): resolves the next
 * hop (RFC 3263), writes the request, starts its client transaction, and on a transport error, a
 * timeout or a 503 sends it on to the next address of the destination (RFC 3263 §4.3; a
 * registrar set's failover).
 */
export class BranchSender {
  readonly #host: BranchSendHost;
  readonly #onResponse: BranchResponseHandler;
  readonly #txPrefix = randomBytes(3).toString('hex');
  #txCounter = 0;
  readonly #txIds = new WeakMap<ProxyTx, string>();

  constructor(host: BranchSendHost, onResponse: BranchResponseHandler) {
    this.#host = host;
    this.#onResponse = onResponse;
  }

  /** Sends one branch: resolves the next hop, writes the request, starts its client transaction. */
  send(ptx: ProxyTx, b: ProxyBranch, ctx: RequestContext): void {
    const host = this.#host;
    const t = b.target;
    if (t.flowGone === true || t.flowId !== undefined) {
      const flow = t.flowId === undefined ? undefined : host.transport.getFlow(t.flowId);
      // RFC 5626 §5.3.1: the flow named by the token is gone: 430 at once (decision Q-E2)
      if (flow === undefined) {
        ptx.branchFailed(b, 430, 'Flow Failed');
        return;
      }
      this.#emit(ptx, b, ctx, flow.listener, { flowId: flow.id }, undefined);
      return;
    }
    const uri = hopUri(ctx, t);
    if (uri === undefined) {
      ptx.branchFailed(b, 416, 'Unsupported URI Scheme');
      return;
    }
    const set = host.nextHopSet(t.du);
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
    const n = host.resolver.resolveNumeric(uri);
    if (n !== undefined) {
      this.#emitHop(ptx, b, ctx, n);
      return;
    }
    host.resolver.resolve(uri).then(
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
  #nextHop(ptx: ProxyTx, b: ProxyBranch, ctx: RequestContext, why: string): boolean {
    const hops = b.hops;
    const cur = hops?.[b.hopIndex];
    const next = hops?.[b.hopIndex + 1];
    const go = next !== undefined && b.pending && !b.cancelled && !ptx.finalSent && !ptx.cancelled;
    if (cur !== undefined) b.hopSet?.report(cur, { ok: false, why, failedOver: go });
    this.#host.clock.clearTimer(b.hopTimer);
    b.hopTimer = undefined;
    if (!go || next === undefined || cur === undefined) return false;
    b.hopIndex++;
    this.#host.stats.nextHopFailovers++;
    this.#host.logger.debug(
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
    ptx: ProxyTx,
    b: ProxyBranch,
    ctx: RequestContext,
    status: number,
    reason: string,
    why: string,
  ): void {
    if (!this.#nextHop(ptx, b, ctx, why)) ptx.branchFailed(b, status, reason);
  }

  #emitHop(ptx: ProxyTx, b: ProxyBranch, ctx: RequestContext, h: NextHop): void {
    const wait = learnRoute(this.#host.transport, h, b.target);
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

  #emitOut(ptx: ProxyTx, b: ProxyBranch, ctx: RequestContext, h: NextHop): void {
    const out = selectOut(this.#host.transport, h, b.target);
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
    ptx: ProxyTx,
    b: ProxyBranch,
    ctx: RequestContext,
    out: ListenerInfo,
    target: SendTarget,
    hop: NextHop | undefined,
  ): void {
    const host = this.#host;
    if (host.layer.clientCount >= host.limits.maxClientTransactions) {
      host.limitHit(
        'client_transactions',
        'client_transactions',
        { max: host.limits.maxClientTransactions },
        `client transaction table full (${host.limits.maxClientTransactions}): new branches fail with 503`,
      );
      ptx.branchFailed(b, 503, 'Service Unavailable');
      return;
    }
    const attempt = b.attempts++;
    // RFC 3263 §4.3: the request to the next hop is a new transaction, with a branch id of its own
    const branchId = `z9hG4bK${this.#txPrefix}${this.#txIdOf(ptx)}.${b.index}${attempt === 0 ? '' : `.${attempt}`}`;
    const buf = buildBranchRequest(branchInput(ctx, host.forceRport), b.target, out, branchId);
    let tx: ClientTransaction | undefined;
    let answered = false;
    const user: ClientTransactionUser = {
      onResponse: (res, info) => {
        if (tx !== undefined && b.client !== tx) return; // an attempt given up already
        if (!answered && tx !== undefined) {
          answered = true;
          host.clock.clearTimer(b.hopTimer);
          b.hopTimer = undefined;
          // RFC 3263 §4.3: a 503 from this hop sends the request to the next one (if any)
          if (res.status === 503 && b.pending && this.#nextHop(ptx, b, ctx, '503')) return;
          if (hop !== undefined && res.status !== 503) b.hopSet?.report(hop, { ok: true });
        }
        this.#onResponse(ptx, b, res, info);
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
        // RFC 5626 §5.3: a branch bound to the flow a token named cannot go anywhere else; a
        // transport error on it (the peer reset the connection under our write) is that flow
        // failing: 430, as when the flow was already gone, never a 503 (500 at the caller)
        ptx.onClientFailure(
          b,
          kind === TxFailure.Transport && b.target.flowId !== undefined ? TxFailure.FlowGone : kind,
        );
      },
    };
    const sent = host.layer.sendRequest(buf, branchId, ctx.req.method, target, user);
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
      host.clock.clearTimer(b.hopTimer);
      b.hopTimer = host.clock.setTimer(set.timeoutMs, () => {
        b.hopTimer = undefined;
        if (answered || b.client !== given || !b.pending) return;
        given.terminate();
        if (!this.#nextHop(ptx, b, ctx, 'timeout'))
          ptx.branchFailed(b, 408, 'Request Timeout', true);
      });
    }
  }

  /** A short id per transaction, unique in this process (the middle of its branches' ids). */
  #txIdOf(ptx: ProxyTx): string {
    let id = this.#txIds.get(ptx);
    if (id === undefined) {
      this.#txCounter = (this.#txCounter + 1) >>> 0;
      id = this.#txCounter.toString(36);
      this.#txIds.set(ptx, id);
    }
    return id;
  }
}

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
