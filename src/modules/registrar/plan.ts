import { Hdr } from '../../message/constants.js';
import type { SipRequest } from '../../message/message.js';
import { unquote } from '../../message/parse/chars.js';
import {
  contactExpires,
  contactInstance,
  contactQ,
  contactRegId,
} from '../../message/parse/contact.js';
import type { NameAddr } from '../../message/parse/name-addr.js';
import { SipUri } from '../../message/parse/uri.js';
import { type Aor, extractAor } from './aor.js';
import type { RegistrarErrorCode } from './codes.js';
import type { ResolvedRegistrarParams } from './params.js';

/** Longest Call-ID and `received` value stored (Kamailio limits). */
export const MAX_CALLID = 255;
export const MAX_RECEIVED = 255;
/** Longest Path value stored (all Path values joined). */
export const MAX_PATH = 512;
/** Longest User-Agent stored; longer ones are cut. */
export const MAX_USER_AGENT = 255;

/** What one Contact of a REGISTER asks for. */
export interface ContactPlan {
  /** Contact URI exactly as written (without `<>` and header parameters). */
  readonly uri: string;
  /** Granted expiry in seconds (0 = remove). */
  readonly expires: number;
  /** q in thousandths, undefined when unspecified. */
  readonly q: number | undefined;
  /** `+sip.instance` without quotes. */
  readonly instance: string | undefined;
  /** The reg-id that keys the binding: 0 when absent, ignored (no instance, RFC 5626 §6) or not used (first hop). */
  readonly regId: number;
  readonly received: string | undefined;
  readonly methods: readonly string[] | undefined;
}

/** A REGISTER checked and read (outbound.md §2.3 steps 1-5), before the location store is consulted. */
export interface RegisterPlan {
  readonly aor: Aor;
  readonly callId: string;
  readonly cseq: number;
  /** `Contact: *` (remove every binding). */
  readonly star: boolean;
  /** The contacts to process, in order; empty for a query or `*`. */
  readonly contacts: readonly ContactPlan[];
  /** Path values to store with the bindings (empty without Path or with `use_path` 0). */
  readonly path: readonly string[];
  /** The Path header bodies joined with `,` (outbound.md §2.5), when the REGISTER has Path and `use_path` is on. */
  readonly pathEcho: string | undefined;
  /** The UA lists `path` / `gruu` in Supported. */
  readonly supportsPath: boolean;
  readonly supportsGruu: boolean;
  readonly userAgent: string | undefined;
}

/** {@link planRegister}'s result. */
export type PlanResult =
  | { readonly ok: true; readonly plan: RegisterPlan }
  | {
      readonly ok: false;
      readonly code: RegistrarErrorCode;
      readonly pathEcho?: string | undefined;
    };

function fail(code: RegistrarErrorCode): PlanResult {
  return { ok: false, code };
}

/**
 * Expiry of one contact (outbound.md §2.4): the Contact `expires` parameter when it has a value
 * (a non-numeric one counts as `default_expires`, as in Kamailio), else the Expires header, else
 * `default_expires`. A non-zero value below `min_expires` is raised to it (or refused with 423 in
 * `min_expires_mode` 1, RFC 3261 §10.3 step 7); `max_expires` caps it.
 */
function contactExpirySeconds(
  c: NameAddr,
  header: number | undefined,
  p: ResolvedRegistrarParams,
): number | 'low' {
  const raw = c.param('expires');
  let e: number;
  if (typeof raw === 'string' && raw !== '') {
    const v = contactExpires(c);
    e = v === undefined || Number.isNaN(v) ? p.default_expires : v;
  } else e = header ?? p.default_expires;
  if (e === 0) return 0;
  if (e < p.min_expires) {
    if (p.min_expires_mode === 1) return 'low';
    e = p.min_expires;
  }
  if (p.max_expires > 0 && e > p.max_expires) e = p.max_expires;
  return e;
}

/** Methods a contact accepts: Contact `methods` (RFC 3840 §9), else the Allow header, else all. */
function contactMethods(
  c: NameAddr,
  allow: readonly string[] | undefined,
): readonly string[] | undefined {
  const m = c.param('methods');
  if (typeof m === 'string' && m !== '') {
    return unquote(m)
      .split(',')
      .map((x) => x.trim().toUpperCase())
      .filter((x) => x !== '');
  }
  return allow;
}

/**
 * Checks a REGISTER in the order of outbound.md §2.3 (steps 1-5) and reads every contact, with
 * the flowgate decisions: Q-R2 (several reg-id contacts → 400), Q-R5 (bad reg-id → 400), RFC 5626
 * §6 (reg-id without instance is ignored). Nothing here touches the location store.
 */
export function planRegister(
  req: SipRequest,
  viaCount: number,
  p: ResolvedRegistrarParams,
): PlanResult {
  // step 1: the AoR from To (RFC 3261 §10.3 step 5)
  const to = req.to;
  if (to === undefined) return fail('REG_ERR_TO_MISS');
  const a = extractAor(to.uri, p);
  if (!a.ok) return fail(a.code);
  // step 2: Call-ID, CSeq, Expires, Contact
  const callId = req.callId;
  if (callId === undefined || callId === '') return fail('REG_ERR_CALLID_MISS');
  if (callId.length > MAX_CALLID) return fail('REG_ERR_CALLID_LEN');
  const cseq = req.cseq;
  if (cseq === undefined) return fail('REG_ERR_CSEQ_MISS');
  const expiresHdr = req.expires;
  if (expiresHdr !== undefined && Number.isNaN(expiresHdr)) return fail('REG_ERR_EXPIRES_PARSE');
  let star = false;
  let nas: NameAddr[] = [];
  if (req.hasHeader(Hdr.Contact)) {
    const cl = req.contacts;
    if (cl === undefined) {
      // RFC 3261 §10.3 step 6: "*" only alone
      const mixedStar = req.getValues(Hdr.Contact).some((v) => v.trim() === '*');
      return fail(mixedStar ? 'REG_ERR_STAR_CONT' : 'REG_ERR_CONTACT_PARSE');
    }
    star = cl.star;
    nas = cl.star ? [] : cl.contacts;
  }
  // step 3: "*" needs Expires: 0 (RFC 3261 §10.2.2); length limits; q syntax
  if (star && expiresHdr !== 0) return fail('REG_ERR_STAR_EXP');
  for (const c of nas) {
    if (c.uriText.length > p.contact_max_size) return fail('REG_ERR_TOO_LONG');
    const rcv = c.param('received');
    if (typeof rcv === 'string' && unquote(rcv).length > Math.min(MAX_RECEIVED, p.contact_max_size))
      return fail('REG_ERR_TOO_LONG');
    const q = contactQ(c);
    if (q !== undefined && Number.isNaN(q)) return fail('REG_ERR_Q');
  }
  // Path (RFC 3327 §5.3). Its first URI's `ob` decides the first-hop check (step 5) in any case;
  // with use_path the Path is stored, so it must parse, loose-route (`lr`) and fit
  const hasPath = req.hasHeader(Hdr.Path);
  const pathList = hasPath ? req.paths : [];
  const firstPathUri = pathList?.[0]?.uri;
  const pathFirstOb = firstPathUri instanceof SipUri && firstPathUri.hasParam('ob');
  let pathValues: string[] = [];
  let pathEcho: string | undefined;
  if (hasPath && p.use_path === 1) {
    if (!(firstPathUri instanceof SipUri) || !firstPathUri.hasParam('lr'))
      return fail('REG_ERR_PATH_PARSE');
    pathValues = req.getValues(Hdr.Path);
    for (let i = 0; i < pathValues.length; i++) pathValues[i] = (pathValues[i] ?? '').trim();
    const fields = req.getHeaders(Hdr.Path);
    // one Path header (an edge's): its value as it is, without a list and a join
    pathEcho =
      fields.length === 1 ? (fields[0] ?? '').trim() : fields.map((v) => v.trim()).join(',');
    if (pathEcho.length > MAX_PATH) return fail('REG_ERR_PATH_PARSE');
  }
  // step 4: outbound option tags (RFC 5626 §6)
  const supported = req.optionTags(Hdr.Supported);
  const supportsOutbound = supported.includes('outbound');
  if (p.outbound_mode === 2 && req.hasHeader(Hdr.Supported) && !supportsOutbound) {
    // outbound required by this registrar; a REGISTER without any Supported passes (quirk Q-R1, kept)
    return fail('REG_ERR_OB_UNSUP');
  }
  if (p.outbound_mode === 0 && req.hasOptionTag(Hdr.Require, 'outbound'))
    return fail('REG_ERR_OB_REQD_UNSUP');
  // step 5: first-hop check (RFC 5626 §6): a REGISTER that crossed a proxy uses outbound only if
  // that proxy's Path says `ob`
  let useRegId = true;
  if (
    p.outbound_mode !== 0 &&
    nas.length > 0 &&
    viaCount >= 2 &&
    !pathFirstOb &&
    p.regid_mode === 0
  ) {
    const first = nas[0];
    if (supportsOutbound && first !== undefined && first.param('reg-id') !== undefined)
      return fail('REG_ERR_OB_UNSUP_EDGE');
    // RFC 5626 §6: "otherwise, the registrar MUST ignore the 'reg-id' parameter"
    useRegId = false;
  }
  // the contacts
  const allowValues = req.hasHeader(Hdr.Allow)
    ? req.getValues(Hdr.Allow).map((m) => m.trim().toUpperCase())
    : undefined;
  const contacts: ContactPlan[] = [];
  for (const c of nas) {
    const e = contactExpirySeconds(c, expiresHdr, p);
    if (e === 'low') return fail('REG_ERR_LOW_EXP');
    const instance = contactInstance(c);
    const inst = instance === undefined || instance === '' ? undefined : instance;
    let regId = 0;
    // RFC 5626 §6: a reg-id without an instance is ignored
    if (inst !== undefined && useRegId && c.param('reg-id') !== undefined) {
      const r = contactRegId(c);
      // decision Q-R5: a reg-id that is not 1..2^31-1 is refused (Kamailio answers 200 and stores nothing)
      if (r === undefined || Number.isNaN(r)) return fail('REG_ERR_REGID');
      regId = r;
    }
    const q = contactQ(c) ?? (p.default_q >= 0 ? p.default_q : undefined);
    const rcv = c.param('received');
    contacts.push({
      uri: c.uriText,
      expires: e,
      q,
      instance: inst,
      regId,
      received: typeof rcv === 'string' && rcv !== '' ? unquote(rcv) : undefined,
      methods: contactMethods(c, allowValues),
    });
  }
  // decision Q-R2 (RFC 5626 §6): a reg-id registers one flow: with it, only one contact may carry a
  // non-zero expiry
  let live = 0;
  let liveRegId = false;
  for (const c of contacts) {
    if (c.expires <= 0) continue;
    live++;
    if (c.regId > 0) liveRegId = true;
  }
  if (live > 1 && liveRegId) return fail('REG_ERR_MULTI_REGID');
  const ua = req.getHeader(Hdr.UserAgent);
  return {
    ok: true,
    plan: {
      aor: a.aor,
      callId,
      cseq: cseq.seq,
      star,
      contacts,
      path: pathValues,
      pathEcho,
      supportsPath: supported.includes('path'),
      supportsGruu: supported.includes('gruu'),
      userAgent: ua === undefined || ua === '' ? undefined : ua.slice(0, MAX_USER_AGENT),
    },
  };
}
