/* Parameters of the proxy core: tm module parameters and abuse limits (plain data). */

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
