/**
 * Best-response selection (RFC 3261 §16.7 step 6) among final responses that count:
 * a 6xx wins; otherwise the lowest class (3xx over 4xx over 5xx); inside 4xx, 401/407/415/420/484
 * are preferred (the client can act on them); a response a UA actually sent is preferred over one
 * the proxy generated itself (a local 408 timeout or 430 flow failure); ties go to the earliest.
 */
export interface Candidate {
  readonly status: number;
  /** True for replies generated locally (timeouts, flow failures, transport errors). */
  readonly local: boolean;
  /** Arrival order. */
  readonly order: number;
}

const PREFERRED_4XX = new Set([401, 407, 415, 420, 484]);

function rank(c: Candidate): number {
  const s = c.status;
  const cls = Math.floor(s / 100);
  if (cls === 6) return 0;
  let r = cls * 10; // 3xx -> 30, 4xx -> 40, 5xx -> 50
  if (cls === 4 && PREFERRED_4XX.has(s)) r -= 5;
  if (c.local) r += 1;
  return r;
}

/** Index of the best candidate, or -1 when there is none. */
export function pickBest(cands: readonly Candidate[]): number {
  let best = -1;
  let bestRank = Number.POSITIVE_INFINITY;
  let bestOrder = Number.POSITIVE_INFINITY;
  for (let i = 0; i < cands.length; i++) {
    const c = cands[i] as Candidate;
    const r = rank(c);
    if (r < bestRank || (r === bestRank && c.order < bestOrder)) {
      best = i;
      bestRank = r;
      bestOrder = c.order;
    }
  }
  return best;
}
