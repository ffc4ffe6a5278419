import { Hdr } from '../../message/constants.js';
import type { RequestContext } from '../../proxy/context.js';

/** Return codes of `mf_process_maxfwd_header` (Kamailio maxfwd module). */
export const MaxFwdRc = {
  /** Header was missing and has been added. */
  Added: 2,
  /** Value decremented. */
  Decremented: 1,
  /** Value is 0: the caller answers 483 (RFC 3261 §16.3 step 3). */
  Zero: -1,
  /** Unparsable value. */
  Error: -2,
} as const;

/**
 * `mf_process_maxfwd_header(limit)` (RFC 3261 §16.3 step 3, §16.6 step 3): adds `Max-Forwards:
 * limit` when missing, fails when it is 0, else decrements it (values above `maxLimit` count as
 * `maxLimit + 1`, Kamailio `max_limit`).
 */
export function mfProcessMaxfwdHeader(ctx: RequestContext, limit: number, maxLimit = 70): number {
  const req = ctx.req;
  const k = req.indexOf(Hdr.MaxForwards);
  if (k < 0) {
    ctx.edits.insertTop(`Max-Forwards: ${limit}`);
    ctx.maxForwardsDone = true;
    return MaxFwdRc.Added;
  }
  const v = req.maxForwards;
  if (v === undefined || Number.isNaN(v)) return MaxFwdRc.Error;
  if (v === 0) return MaxFwdRc.Zero;
  const n = Math.min(v, maxLimit + 1) - 1;
  ctx.edits.replaceHeader(k, String(n));
  ctx.maxForwardsDone = true;
  return MaxFwdRc.Decremented;
}
