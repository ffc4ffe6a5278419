import { Hdr } from '../message/constants.js';
import { EditList, serialize } from '../message/edits.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { buildCancel } from '../transaction/client.js';
import type { TransactionLayer } from '../transaction/layer.js';
import type { ServerTransaction } from '../transaction/server.js';
import { TxFailure } from '../transaction/types.js';
import type { ReceiveInfo } from '../transport/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/logger.js';
import { pickBest } from './best-response.js';
import { type BranchTarget, ProxyBranch } from './branch.js';
import type { TmParams } from './params.js';
import { restAfterFirstValue } from './via.js';

export { ProxyBranch } from './branch.js';

/**
 * Called for every final response relayed upstream, with the request it answers and where that
 * came from (the edge counts failed authentications per client source from 401/407; nathelper
 * starts keep-alives from a REGISTER's 2xx).
 */
export type RelayedFinalHook = (req: SipRequest, info: ReceiveInfo, res: SipResponse) => void;

/** What a proxy transaction keeps of the request route that created it. */
export interface TxOrigin {
  readonly req: SipRequest;
  readonly info: ReceiveInfo;
}

/**
 * What a proxy transaction needs from the proxy core (implemented by `ProxyCore`; declared here so
 * that this file does not import core.ts). `C` is the request context type (`RequestContext`),
 * kept generic so that this file does not import context.ts either.
 */
export interface ProxyTxHost<C extends TxOrigin> {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly tm: TmParams;
  readonly layer: Pick<TransactionLayer, 'sendRequest'>;
  readonly relayedFinalHooks: readonly RelayedFinalHook[];
  /** Sends branch `b`: next-hop choice, the request, its client transaction. */
  sendBranch(ptx: ProxyTransaction<C>, b: ProxyBranch, ctx: C): void;
  /** Runs the branch-failure route of `b` (a promise while an async route runs). */
  runBranchFailure(ptx: ProxyTransaction<C>, b: ProxyBranch): void | Promise<void>;
  /** Runs `failure_route[name]` (a promise while an async route runs). */
  runFailure(ptx: ProxyTransaction<C>, name: string): void | Promise<void>;
  /** Header lines of local replies (Server), plus `extra`. */
  localHeaders(extra?: readonly string[]): string[];
  /** The To-tag of this transaction's local replies. */
  localTagFor(ptx: ProxyTransaction<C>): string;
  countReply(status: number): void;
}

let orderCounter = 0;

/**
 * The response context of a stateful proxy transaction (RFC 3261 §16.7, §16.10; Kamailio tm
 * `cell`): the server transaction, its branches, best-response selection, failure routes, CANCEL.
 */
export class ProxyTransaction<C extends TxOrigin = TxOrigin> {
  readonly core: ProxyTxHost<C>;
  readonly server: ServerTransaction;
  /** The context of the request route that created it (message-wide edits, header generators); released once done. */
  #ctx: C | undefined;
  #slim = false;
  readonly branches: ProxyBranch[] = [];
  failureRoute: string | undefined;
  /** Incremented each time a failure route adds branches. */
  stage = 0;
  /** A final response went upstream. */
  finalSent = false;
  /** A 2xx went upstream (INVITE). */
  accepted = false;
  /** CANCEL received for this INVITE. */
  cancelled = false;
  #holds = 0;
  /** Failure / branch-failure routes still running (an async route may yet add a branch). */
  routesInFlight = 0;

  constructor(core: ProxyTxHost<C>, server: ServerTransaction, ctx: C) {
    this.core = core;
    this.server = server;
    this.#ctx = ctx;
  }

  /** The request context (for failure routes); only while the transaction is still working. */
  get ctx(): C {
    if (this.#ctx === undefined) throw new Error('proxy transaction already completed');
    return this.#ctx;
  }

  /**
   * Once the final went upstream and no branch is pending, only what absorbs retransmissions and
   * relays late 2xx is kept: the request context and the branches' responses are let go, so a
   * finished call costs little memory for the rest of its transactions' 64*T1.
   */
  #maybeSlim(): void {
    if (
      this.#slim ||
      !this.finalSent ||
      this.#holds > 0 ||
      this.routesInFlight > 0 ||
      this.pendingCount > 0
    )
      return;
    this.#slim = true;
    this.#ctx = undefined;
    for (const b of this.branches) {
      b.response = undefined;
      b.responseEdits = undefined;
      b.hops = undefined;
      b.hopSet = undefined;
      // target strings are substrings of the request: drop them, keep the attributes
      b.target = {
        uri: '',
        ruid: b.target.ruid,
        instance: b.target.instance,
        regId: b.target.regId,
      };
    }
  }

  get isInvite(): boolean {
    return this.server.isInvite;
  }

  get pendingCount(): number {
    let n = 0;
    for (const b of this.branches) if (b.pending) n++;
    return n;
  }

  // ---- sending

  /** Adds and sends a branch. Returns false if it failed at once (status set on the branch). */
  addBranch(target: BranchTarget, branchFailureRoute: string | undefined, ctx: C): ProxyBranch {
    const b = new ProxyBranch(this.branches.length, target, this.stage, branchFailureRoute);
    this.branches.push(b);
    this.core.sendBranch(this, b, ctx);
    return b;
  }

  /** Called by the core when a branch could not be sent (at once or later). */
  branchFailed(b: ProxyBranch, status: number, reason: string, timedOut = false): void {
    if (!b.pending) return;
    this.core.clock.clearTimer(b.timerC);
    b.status = status;
    b.reason = reason;
    b.timedOut = timedOut;
    b.order = ++orderCounter;
    this.#onNegative(b);
  }

  // ---- responses

  /** A response for branch `b` arrived (already past onreply_route, not dropped). */
  onResponse(b: ProxyBranch, res: SipResponse, edits: EditList | undefined): void {
    const status = res.status;
    b.replied = true;
    if (status < 200) {
      if (!b.pending) return;
      b.provisional = true;
      this.#armTimerC(b, status);
      if (b.cancelled) this.#sendCancel(b);
      // RFC 3261 §16.7 step 5: forward provisionals other than 100 at once
      if (status > 100 && !this.finalSent) this.relay(res, edits);
      return;
    }
    if (status < 300) {
      // RFC 3261 §16.7 step 5 / RFC 6026: every 2xx for INVITE is forwarded at once
      const wasPending = b.pending;
      if (wasPending) {
        this.core.clock.clearTimer(b.timerC);
        b.status = status;
        b.response = res;
        b.order = ++orderCounter;
      }
      if (!this.finalSent || (this.isInvite && this.accepted)) {
        this.finalSent = true;
        this.accepted = true;
        this.relay(res, edits);
      }
      // RFC 3261 §16.7 step 10: cancel the other pending branches of an INVITE
      if (this.isInvite) this.cancelPending();
      return;
    }
    if (!b.pending) return;
    this.core.clock.clearTimer(b.timerC);
    b.status = status;
    b.reason = res.reason;
    b.response = res;
    b.responseEdits = edits;
    b.order = ++orderCounter;
    this.#onNegative(b);
  }

  /** The client transaction of branch `b` failed (timer B/F, transport, flow gone). */
  onClientFailure(b: ProxyBranch, kind: TxFailure): void {
    if (!b.pending) return;
    if (kind === TxFailure.Timeout) this.branchFailed(b, 408, 'Request Timeout', true);
    else if (kind === TxFailure.FlowGone) this.branchFailed(b, 430, 'Flow Failed');
    else this.branchFailed(b, 503, 'Service Unavailable');
  }

  #armTimerC(b: ProxyBranch, status: number): void {
    if (!this.isInvite) return;
    const tm = this.core.tm;
    // Kamailio restart_fr_on_each_reply: 1 restarts on every provisional; 0 only on the first and
    // on increasing codes >= 180 (RFC 3261 §16.6 step 11 / §16.7 step 2: timer C).
    const restart =
      b.timerC === undefined ||
      tm.restartFrOnEachReply ||
      (status >= 180 && status > (b.client?.lastStatus ?? 0));
    if (!restart) return;
    this.core.clock.clearTimer(b.timerC);
    b.timerC = this.core.clock.setTimer(tm.frInvTimer, () => {
      b.timerC = undefined;
      if (!b.pending) return;
      // RFC 3261 §16.8: timer C fired: CANCEL the branch and treat it as a 408
      this.#sendCancel(b);
      this.branchFailed(b, 408, 'Request Timeout', true);
    });
  }

  /** Suspends completion while `t_relay` adds branches (a synchronous failure is the script's to answer). */
  hold(): void {
    this.#holds++;
  }

  release(complete: boolean): void {
    this.#holds--;
    if (complete) this.#maybeComplete();
  }

  #onNegative(b: ProxyBranch): void {
    // Kamailio order: (1) the branch-failure route of this branch, which may add branches
    if (b.branchFailureRoute !== undefined && !this.finalSent) {
      const before = this.branches.length;
      this.#holds++;
      this.routesInFlight++;
      const after = (): void => {
        this.#holds--;
        this.routesInFlight--;
        // decision Q-R8: a branch replaced in its branch-failure route no longer counts
        if (this.branches.length > before) b.superseded = true;
        this.#afterNegative(b);
      };
      const r = this.core.runBranchFailure(this, b);
      if (r instanceof Promise) void r.then(after);
      else after();
      return;
    }
    this.#afterNegative(b);
  }

  #afterNegative(b: ProxyBranch): void {
    // RFC 3261 §16.7 step 5: a 6xx ends the search; cancel what is still pending
    if (b.status >= 600 && this.isInvite) this.cancelPending();
    this.#maybeComplete();
  }

  #maybeComplete(): void {
    if (this.finalSent) {
      this.#maybeSlim();
      return;
    }
    if (this.#holds > 0) return;
    if (this.pendingCount > 0) return;
    // (2) all branches done: the failure route, if armed, may reply or add branches
    if (this.failureRoute !== undefined) {
      const name = this.failureRoute;
      this.failureRoute = undefined;
      const before = this.branches.length;
      this.#holds++;
      this.routesInFlight++;
      const after = (): void => {
        this.#holds--;
        this.routesInFlight--;
        if (this.finalSent) return;
        if (this.branches.length > before) {
          // failure_reply_mode 3 (and 1): earlier replies are discarded once new branches exist
          const mode = this.core.tm.failureReplyMode;
          if (mode !== 0 && mode !== 2) this.stage++;
          for (let i = before; i < this.branches.length; i++)
            (this.branches[i] as ProxyBranch).stage = this.stage;
        }
        this.#maybeComplete();
      };
      const r = this.core.runFailure(this, name);
      if (r instanceof Promise) void r.then(after);
      else after();
      return;
    }
    this.sendBest();
  }

  /** Branch indexes whose final counts for best-response selection. */
  countingBranches(): ProxyBranch[] {
    const mode = this.core.tm.failureReplyMode;
    const latestStage = this.branches.reduce((m, b) => Math.max(m, b.stage), 0);
    return this.branches.filter(
      (b) => !b.pending && !b.superseded && (mode === 0 || mode === 2 || b.stage === latestStage),
    );
  }

  /** The branch whose reply would win now (failure route `t_check_status` etc.). */
  pickedBranch(): ProxyBranch | undefined {
    const c = this.countingBranches().filter((b) => b.status >= 300);
    const i = pickBest(
      c.map((b) => ({ status: b.status, local: b.response === undefined, order: b.order })),
    );
    return i < 0 ? undefined : c[i];
  }

  /** Sends the best final response upstream (RFC 3261 §16.7 step 6). */
  sendBest(): void {
    if (this.finalSent) return;
    const b = this.pickedBranch();
    if (b === undefined) {
      this.replyLocal(500, 'No Branch Answered');
      return;
    }
    if (b.response !== undefined && b.status !== 503) this.relay(b.response, b.responseEdits);
    // RFC 3261 §16.7 step 6: a 503 is turned into a 500 (the next hop's overload is not ours)
    else if (b.status === 503) this.replyLocal(500, 'Server Internal Error');
    else this.replyLocal(b.status, b.reason);
    this.finalSent = true;
  }

  /** Relays a downstream response upstream: our Via removed, reply-route edits applied. */
  relay(res: SipResponse, edits: EditList | undefined): void {
    if (res.viaCount < 2) {
      // RFC 3261 §16.7 step 3: with only our Via there is nobody to forward it to; our client still
      // gets the answer it is owed, generated here with the same status
      this.core.logger.warn(
        { status: res.status, callId: res.callId },
        'response with no Via after ours: not forwarded',
      );
      if (res.status >= 200) this.finalSent = true;
      this.server.reply(
        res.status,
        res.reason,
        this.core.localHeaders(),
        undefined,
        this.core.localTagFor(this),
      );
      this.core.countReply(res.status);
      return;
    }
    const k = res.indexOf(Hdr.Via);
    const e = new EditList();
    if (k >= 0) {
      const rest = restAfterFirstValue(res.headerValueAt(k));
      if (rest === undefined) e.removeHeader(k);
      else e.replaceHeader(k, rest);
    }
    if (res.status >= 200) this.finalSent = true;
    this.server.respond(res.status, serialize(res, e, edits));
    this.core.countReply(res.status);
    if (res.status >= 200 && this.#ctx !== undefined)
      for (const h of this.core.relayedFinalHooks) h(this.#ctx.req, this.#ctx.info, res);
    this.#maybeSlim();
  }

  /** Sends a locally generated response through the server transaction. */
  replyLocal(status: number, reason: string, headers?: readonly string[]): void {
    if (status >= 200) {
      if (this.finalSent && !(status < 300 && this.accepted)) return;
      this.finalSent = true;
    }
    this.server.reply(
      status,
      reason,
      this.core.localHeaders(headers),
      undefined,
      this.core.localTagFor(this),
    );
    this.core.countReply(status);
    if (status >= 200) this.cancelPending();
    this.#maybeSlim();
  }

  /** CANCEL every pending branch (RFC 3261 §16.10). Branches without a provisional end with a local 487. */
  cancelPending(): void {
    for (const b of this.branches) {
      if (!b.pending || b.cancelled) continue;
      b.cancelled = true;
      if (b.provisional) this.#sendCancel(b);
      else if (this.isInvite) {
        // RFC 3261 §9.1: no CANCEL before a provisional; stop the branch and account it as 487
        b.client?.terminate();
        this.branchFailedQuiet(b, 487, 'Request Terminated');
      }
    }
  }

  /** Ends a branch without running routes (used during cancellation). */
  branchFailedQuiet(b: ProxyBranch, status: number, reason: string): void {
    if (!b.pending) return;
    this.core.clock.clearTimer(b.timerC);
    b.status = status;
    b.reason = reason;
    b.order = ++orderCounter;
    queueMicrotask(() => this.#maybeComplete());
  }

  #sendCancel(b: ProxyBranch): void {
    const c = b.client;
    if (c === undefined || !b.provisional) return;
    const req = c.parsedRequest;
    if (req === undefined) return;
    if (b.cancelSent) return;
    b.cancelSent = true;
    this.core.layer.sendRequest(buildCancel(req), c.branch, 'CANCEL', c.target, {
      onResponse: () => {},
      onFailure: () => {},
    });
  }

  /** A CANCEL for this INVITE arrived (RFC 3261 §16.10). */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.failureRoute = undefined;
    this.cancelPending();
  }
}
