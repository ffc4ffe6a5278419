import type { Binding } from '../location/binding.js';
import { compareBindings } from '../location/order.js';
import { SaveRc } from './api.js';
import type { RegistrarErrorCode } from './codes.js';
import { newTempGruuNonce, sameInstance } from './gruu.js';
import type { ResolvedRegistrarParams } from './params.js';
import type { ContactPlan, RegisterPlan } from './plan.js';

/** Where the REGISTER came from and what to stamp new bindings with. */
export interface ChangeEnv {
  /** Wall-clock ms now. */
  readonly now: number;
  readonly params: ResolvedRegistrarParams;
  /** The flow and local socket the REGISTER arrived on. */
  readonly flowId: string | undefined;
  readonly socket: string | undefined;
  /** New ruid / seq for an inserted binding. */
  readonly newRuid: () => string;
  readonly newSeq: () => number;
  /** New temp-GRUU nonce (tests may fix it). */
  readonly newNonce?: (() => string) | undefined;
}

/** The outcome of applying a REGISTER to an AoR's bindings, before anything is written. */
export interface ChangeSet {
  /** Bindings to write (new or changed). */
  readonly upsert: readonly Binding[];
  /** ruids of stored bindings to delete. */
  readonly remove: readonly string[];
  /** The AoR's bindings after the change, in reply order (q descending, older first). */
  readonly bindings: readonly Binding[];
  /** `save()` return code: 1 inserted / 2 updated / 3 deleted / 4 listed. */
  readonly rc: number;
  /** RFC 5626 §6: outbound was applied (a binding keyed by instance + reg-id was written). */
  readonly outboundApplied: boolean;
}

/** {@link computeChanges}'s result. */
export type ChangeResult =
  | { readonly ok: true; readonly changes: ChangeSet }
  | { readonly ok: false; readonly code: RegistrarErrorCode };

/**
 * Applies a REGISTER to the AoR's current bindings (outbound.md §2.4, RFC 3261 §10.3 steps 6-8,
 * RFC 5626 §6, RFC 5627 §5.4) and returns what to write. All or nothing: an error leaves nothing to
 * write.
 */
export function computeChanges(
  plan: RegisterPlan,
  current: readonly Binding[],
  env: ChangeEnv,
): ChangeResult {
  const { now, params: p } = env;
  // Lists keyed by ruid, in insertion order (a replaced entry keeps its place): an AoR has a few
  // bindings, and lists cost less than Maps per REGISTER (issue 12 §1)
  // (a copy of the exact size when all are live, the usual case)
  const working = current.every((b) => b.expires > now)
    ? current.slice()
    : current.filter((b) => b.expires > now);
  /**
   * Bindings this REGISTER wrote. Of the bindings still in `working`, these are the ones it
   * already touched: a later contact matching one merges into it.
   */
  const changed: Binding[] = [];
  /** Made only when something is removed (a refresh removes nothing). */
  let removed: string[] | undefined;
  let inserted = 0;
  let updated = 0;
  let deleted = 0;
  let outboundApplied = false;
  const nonce = env.newNonce ?? newTempGruuNonce;
  const gruu = p.gruu_enabled === 1;
  const remove = (ruid: string): void => {
    removed ??= [];
    if (!removed.includes(ruid)) removed.push(ruid);
    drop(changed, ruid);
    drop(working, ruid);
  };

  if (plan.star) {
    // RFC 3261 §10.3 step 6: "*" with Expires 0 removes every binding of the AoR
    while (working.length > 0) {
      remove((working[0] as Binding).ruid);
      deleted++;
    }
  }

  for (const c of plan.contacts) {
    const match = findMatch(working, c);
    if (match === undefined) {
      // RFC 3261 §10.3 step 8: a new binding; a zero expiry for an unknown contact is a no-op
      if (c.expires === 0) continue;
      const b: Binding = {
        ruid: env.newRuid(),
        aor: plan.aor.key,
        contact: c.uri,
        received: c.received,
        path: plan.path,
        expires: now + c.expires * 1000,
        q: c.q,
        callId: plan.callId,
        cseq: plan.cseq,
        userAgent: plan.userAgent,
        instance: c.instance,
        regId: c.regId,
        flowId: env.flowId,
        socket: env.socket,
        methods: c.methods,
        flags: 0,
        lastModified: now,
        seq: env.newSeq(),
        // RFC 5627 §5.4: a temp-GRUU for every binding with an instance
        tempGruus: gruu && c.instance !== undefined ? [nonce()] : [],
      };
      working.push(b);
      changed.push(b);
      inserted++;
      if (b.regId > 0) outboundApplied = true;
      continue;
    }
    if (!has(changed, match.ruid) && match.callId === plan.callId) {
      const recent = now - match.lastModified < p.cseq_delay * 1000;
      if (c.instance === undefined) {
        // RFC 3261 §10.3 step 7: same Call-ID needs a higher CSeq; an equal one shortly after the
        // last change is a retransmission (usrloc cseq_delay): answered 200, nothing changes
        if (plan.cseq < match.cseq) return { ok: false, code: 'REG_ERR_CSEQ' };
        if (plan.cseq === match.cseq) {
          if (recent) continue;
          return { ok: false, code: 'REG_ERR_CSEQ' };
        }
      } else if (plan.cseq === match.cseq && recent) {
        // RFC 5626 bindings are not CSeq-checked (Kamailio); a retransmission still changes nothing,
        // and is answered exactly as the original was (Require: outbound included)
        if (match.regId > 0) outboundApplied = true;
        continue;
      }
    }
    if (c.expires === 0) {
      // RFC 3261 §10.3 step 8: expiry 0 removes the binding
      remove(match.ruid);
      deleted++;
      continue;
    }
    const newCallId = match.callId !== plan.callId;
    if (c.instance !== undefined && newCallId && !has(changed, match.ruid)) {
      // outbound.md §2.4 / RFC 5626 §6: a new Call-ID means the instance restarted: its other
      // flows (any reg-id) are stale
      for (let i = 0; i < working.length; ) {
        const o = working[i] as Binding;
        if (
          o.ruid !== match.ruid &&
          !has(changed, o.ruid) &&
          sameInstance(o.instance, c.instance)
        ) {
          remove(o.ruid); // takes it out of `working`: the next one is now at i
          deleted++;
        } else i++;
      }
    }
    // RFC 5627 §5.4: a new temp-GRUU per refresh; the earlier ones stay valid until the Call-ID changes
    let tempGruus: readonly string[] = newCallId ? [] : match.tempGruus;
    if (gruu && (c.instance !== undefined || match.instance !== undefined)) {
      tempGruus = [...tempGruus, nonce()].slice(-p.temp_gruu_max);
    }
    const b: Binding = {
      ...match,
      // RFC 5626 §6: a refresh from a new flow replaces the flow data (the URI too, for instance bindings)
      contact: c.instance !== undefined ? c.uri : match.contact,
      received: c.received,
      path: plan.path,
      expires: now + c.expires * 1000,
      q: c.q,
      callId: plan.callId,
      cseq: plan.cseq,
      userAgent: plan.userAgent,
      flowId: env.flowId,
      socket: env.socket,
      methods: c.methods,
      lastModified: now,
      tempGruus,
    };
    put(working, b);
    put(changed, b);
    updated++;
    if (b.regId > 0) outboundApplied = true;
  }

  // RFC 3261 §10.3 (local policy): max_contacts bounds the AoR's bindings when this REGISTER adds some
  if (inserted > 0 && p.max_contacts > 0 && working.length > p.max_contacts)
    return { ok: false, code: 'REG_ERR_TOO_MANY' };

  const rc =
    inserted > 0
      ? SaveRc.Inserted
      : updated > 0
        ? SaveRc.Updated
        : deleted > 0 || plan.star
          ? SaveRc.Deleted
          : SaveRc.Listed;
  return {
    ok: true,
    changes: {
      upsert: changed,
      // only stored bindings are deleted (one inserted and removed by this REGISTER never was)
      remove: removed === undefined ? [] : removed.filter((r) => isStored(current, r, now)),
      bindings: working.sort(compareBindings),
      rc,
      outboundApplied,
    },
  };
}

/** Whether the list holds the binding `ruid`. */
function has(list: readonly Binding[], ruid: string): boolean {
  for (const b of list) if (b.ruid === ruid) return true;
  return false;
}

/** Replaces the binding of b's ruid in place, or appends b (Map.set order). */
function put(list: Binding[], b: Binding): void {
  for (let i = 0; i < list.length; i++) {
    if ((list[i] as Binding).ruid === b.ruid) {
      list[i] = b;
      return;
    }
  }
  list.push(b);
}

/** Removes the binding `ruid` from the list, if there. */
function drop(list: Binding[], ruid: string): void {
  for (let i = 0; i < list.length; i++) {
    if ((list[i] as Binding).ruid === ruid) {
      list.splice(i, 1);
      return;
    }
  }
}

function isStored(current: readonly Binding[], ruid: string, now: number): boolean {
  for (const b of current) if (b.ruid === ruid && b.expires > now) return true;
  return false;
}

/**
 * The binding a contact refers to (outbound.md §2.4): with an instance, the one with the same
 * instance and reg-id (RFC 5626 §6, RFC 5627 §5.2); without, the one with the byte-equal Contact URI
 * (usrloc matching_mode 0).
 */
function findMatch(working: readonly Binding[], c: ContactPlan): Binding | undefined {
  for (const b of working) {
    if (c.instance !== undefined) {
      if (sameInstance(b.instance, c.instance) && b.regId === c.regId) return b;
    } else if (b.contact === c.uri) return b;
  }
  return undefined;
}
