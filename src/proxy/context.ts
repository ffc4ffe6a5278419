import { EditList } from '../message/edits.js';
import type { SipRequest, SipResponse } from '../message/message.js';
import { parseUri, type Uri } from '../message/parse/uri.js';
import type { ListenerInfo, ReceiveInfo } from '../transport/types.js';
import type { BranchAttrs, BranchTarget } from './branch.js';
import type { ProxyTransaction } from './stateful.js';

export type { BranchAttrs, BranchTarget } from './branch.js';

/**
 * Thrown (never as an Error: no stack is captured) to end script processing at once: Kamailio's
 * `exit` / `drop`, and any function that returns 0 (RFC-agnostic Kamailio convention: 0 ends the
 * script, even inside an `if`).
 */
export class ExitSignal {
  readonly drop: boolean;
  constructor(drop: boolean) {
    this.drop = drop;
  }
}
export const EXIT = new ExitSignal(false);
export const DROP = new ExitSignal(true);

/**
 * Computes header lines for one outgoing branch once its sockets are known (Kamailio lumps with
 * socket substitution): Record-Route and Path depend on the socket the request leaves from.
 */
export type BranchHeaderGenerator = (
  out: ListenerInfo,
  inbound: ReceiveInfo,
  target: BranchTarget,
) => readonly HeaderInsert[] | undefined;

export interface HeaderInsert {
  /** `top`: before every header (Record-Route, Kamailio style); `path`: before the first Path header or at the end. */
  readonly where: 'top' | 'path';
  readonly line: string;
}

/** The error the last function recorded (what `sl_reply_error` answers, RFC-style: its own status). */
export interface LastError {
  readonly status: number;
  readonly reason: string;
  /** Header lines the reply must carry (e.g. Min-Expires, Unsupported, P-Registrar-Error). */
  readonly headers?: readonly string[] | undefined;
}

/** A loaded contact (tm `contacts_avp` record): a destination plus its q-class boundary flag. */
export interface LoadedContact extends BranchTarget {
  /** Last contact of its q-value class (Kamailio `q_flag`). */
  qFlag: boolean;
}

/** Transaction-bound AVPs: the contact lists of t_load_contacts / t_next_contacts (shared with failure routes). */
export interface ContactAvps {
  contacts: LoadedContact[];
  contactFlows: BranchTarget[];
}

/** A stateful proxy transaction of a request routed with a {@link RequestContext}. */
export type ProxyTx = ProxyTransaction<RequestContext>;

/** Which kind of route a context runs in. */
export type RouteKind = 'request' | 'failure' | 'branch-failure' | 'reply';

/**
 * Processing state of one request inside the proxy: Kamailio's `sip_msg` plus its destination set,
 * lumps and flags. The message bytes stay untouched; changes live here until a branch is written.
 */
export class RequestContext {
  readonly req: SipRequest;
  readonly info: ReceiveInfo;
  readonly kind: RouteKind;
  #ruri: string;
  #ruriParsed: Uri | undefined | null = null;
  /** True when the R-URI is a destination for the next `t_relay` (initially, or after a rewrite). */
  ruriIsNew = true;
  du: string | undefined;
  /** Exact flow for the R-URI destination (set by outbound `loose_route`). */
  flowId: string | undefined;
  /** Flow named by a token but no longer alive: `t_relay` answers 430 (RFC 5626 §5.3.1). */
  deadFlow = false;
  listenerId: number | undefined;
  pathVector: readonly string[] | undefined;
  attrs: BranchAttrs = {};
  /** Additional destinations (append_branch / lookup). */
  branches: BranchTarget[] = [];
  /** Message-wide header edits (lumps). */
  edits: EditList;
  /** Per-branch header generators (Record-Route, Path). */
  headerGens: BranchHeaderGenerator[] = [];
  /** Message flags (Kamailio `setflag`). */
  flags = 0;
  /** `$rc`. */
  rc = 1;
  /** `$var(...)`. */
  readonly vars: Record<string, string | number | undefined>;
  /** Stateful context, once created (t_relay / t_newtran), or the one a failure route runs for. */
  tx: ProxyTx | undefined;
  /** A final reply has been sent for this message (stateless or stateful). */
  finalSent = false;
  lastError: LastError | undefined;
  /** mf_process_maxfwd_header already handled Max-Forwards; the core must not decrement again. */
  maxForwardsDone = false;
  /** record_route() already called (a second call fails, Kamailio "double attempt"). */
  recordRouted = false;
  /** Failure route / branch-failure route armed by t_on_failure / t_on_branch_failure. */
  failureRoute: string | undefined;
  branchFailureRoute: string | undefined;
  /** For failure / branch-failure routes: the branch being reported. */
  branchIndex = -1;
  /** Name of the route being run, for error reports. */
  route = 'request_route';
  /** tm contacts AVPs; failure routes share the object of the request route. */
  avps: ContactAvps = { contacts: [], contactFlows: [] };

  constructor(
    req: SipRequest,
    info: ReceiveInfo,
    kind: RouteKind,
    vars: Record<string, string | number | undefined>,
  ) {
    this.req = req;
    this.info = info;
    this.kind = kind;
    this.#ruri = req.uri;
    this.edits = new EditList();
    this.vars = vars;
  }

  get ruri(): string {
    return this.#ruri;
  }

  set ruri(v: string) {
    this.#ruri = v;
    this.#ruriParsed = null;
    this.ruriIsNew = true;
  }

  /** Parsed current R-URI (undefined if it does not parse). */
  get ruriParsed(): Uri | undefined {
    if (this.#ruriParsed === null) {
      const r = parseUri(this.#ruri);
      this.#ruriParsed = r.ok ? r.value : undefined;
    }
    return this.#ruriParsed;
  }

  /** The R-URI destination as a branch target. */
  ruriTarget(): BranchTarget {
    return {
      uri: this.#ruri,
      du: this.du,
      path: this.pathVector,
      flowId: this.flowId,
      flowGone: this.deadFlow,
      listenerId: this.listenerId,
      flags: this.flags,
      ...this.attrs,
    };
  }

  /** Clears the R-URI destination attributes (Kamailio `reset` of dst_uri/path/socket). */
  resetDestination(): void {
    this.du = undefined;
    this.flowId = undefined;
    this.deadFlow = false;
    this.pathVector = undefined;
    this.listenerId = undefined;
    this.attrs = {};
  }
}

/** State of a reply being processed by `onreply_route`. */
export class ReplyContext {
  readonly res: SipResponse;
  readonly info: ReceiveInfo;
  readonly edits = new EditList();
  /** The transaction the reply belongs to (undefined: stray reply). */
  readonly tx: ProxyTx | undefined;
  readonly branchIndex: number;
  readonly vars: Record<string, string | number | undefined>;
  rc = 1;
  dropped = false;
  readonly kind = 'reply' as const;
  route = 'onreply_route';

  constructor(
    res: SipResponse,
    info: ReceiveInfo,
    tx: ProxyTx | undefined,
    branchIndex: number,
    vars: Record<string, string | number | undefined>,
  ) {
    this.res = res;
    this.info = info;
    this.tx = tx;
    this.branchIndex = branchIndex;
    this.vars = vars;
  }
}
