import type { EditList } from '../message/edits.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import type { ClientTransaction } from '../transaction/client.js';
import type { Timer } from '../util/clock.js';
import type { NextHop } from './resolver.js';

/*
 * The destinations of a request and its outgoing branches: the lowest file of the proxy layer
 * besides the leaf helpers, so that context.ts, stateful.ts and types.ts can all use them.
 */

/** Attributes a destination carries from the location service (Kamailio branch attributes). */
export interface BranchAttrs {
  ruid?: string | undefined;
  instance?: string | undefined;
  regId?: number | undefined;
  q?: number | undefined;
  userAgent?: string | undefined;
}

/** One destination of the destination set (Kamailio "branch"). */
export interface BranchTarget extends BranchAttrs {
  /** Request-URI for this branch. */
  uri: string;
  /** Next hop override (`$du`). */
  du?: string | undefined;
  /** Path vector: written as Route headers in front of the request (RFC 3327 §5.3). */
  path?: readonly string[] | undefined;
  /** Send over exactly this flow (RFC 5626 §5.3); gone -> 430. */
  flowId?: string | undefined;
  /** A flow token named a flow that no longer exists: the branch fails with 430 (RFC 5626 §5.3.1). */
  flowGone?: boolean | undefined;
  /** Send from this listener. */
  listenerId?: number | undefined;
  flags?: number | undefined;
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

/** One outgoing branch of a proxied request (RFC 3261 §16.6; a Kamailio "branch"/uac). */
export class ProxyBranch {
  readonly index: number;
  /** The destination; reduced to its attributes once the transaction is done (see ProxyTransaction). */
  target: BranchTarget;
  /** Failure-route pass the branch belongs to (failure_reply_mode bookkeeping). */
  stage: number;
  client: ClientTransaction | undefined;
  /** Final status (0 while pending). */
  status = 0;
  reason = '';
  /** The final response when it came from downstream. */
  response: SipResponse | undefined;
  /** Edits from onreply_route for the final response. */
  responseEdits: EditList | undefined;
  /** Got at least one response, provisional included (Kamailio `t_branch_replied`). */
  replied = false;
  /** Ended by a timer (Kamailio `t_branch_timeout`). */
  timedOut = false;
  /** A provisional arrived, so a CANCEL may be sent (RFC 3261 §9.1). */
  provisional = false;
  /** CANCEL requested. */
  cancelled = false;
  /** Replaced by a new branch in its branch-failure route: its reply no longer counts (decision Q-R8). */
  superseded = false;
  /** Event route to run when this branch fails. */
  branchFailureRoute: string | undefined;
  /** Arrival order of the final. */
  order = 0;
  timerC: Timer | undefined;
  cancelSent = false;
  /**
   * The next hops of this branch when its destination gave several (RFC 3263 §4.3: a DNS name
   * with several records, or a registrar set), tried in turn on a transport error, a timeout or a
   * 503; `hopIndex` is the one in use.
   */
  hops: readonly NextHop[] | undefined;
  hopIndex = 0;
  /** The set the hops came from (told how each attempt went). */
  hopSet: NextHopSet | undefined;
  /** Requests sent for this branch (each next hop is a new client transaction, RFC 3263 §4.3). */
  attempts = 0;
  /** Gives up on the current hop when it has not answered at all within the set's timeout. */
  hopTimer: Timer | undefined;

  constructor(
    index: number,
    target: BranchTarget,
    stage: number,
    branchFailureRoute: string | undefined,
  ) {
    this.index = index;
    this.target = target;
    this.stage = stage;
    this.branchFailureRoute = branchFailureRoute;
  }

  get pending(): boolean {
    return this.status === 0;
  }
}
