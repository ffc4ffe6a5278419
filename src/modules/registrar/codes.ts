import { LOCATION_STORE_ERROR_REASON } from '../location/errors.js';

/** One row of the registrar error table. */
export interface RegistrarErrorInfo {
  /** SIP status of the reply. */
  readonly status: number;
  /** Reason phrase of the reply. */
  readonly reason: string;
  /** Text of the `P-Registrar-Error` header the reply carries (Kamailio `error_info[]`). */
  readonly pRegistrarError: string;
}

/**
 * Every way `save()` can fail, with the reply it gets (Kamailio registrar `rerrno` + `codes[]` +
 * `error_info[]`, outbound.md §2.6). Errors a client can fix get a specific reason phrase;
 * statuses with a well-known meaning (420, 421, 423, 439, 503) keep the standard phrase, and the
 * detail goes into `P-Registrar-Error`. `docs/registrar.md` lists the same rows; a test keeps the
 * two in sync.
 */
export const REG_ERRORS = {
  // ---- request syntax (RFC 3261 §10.3 steps 1-6)
  REG_ERR_TO_MISS: {
    status: 400,
    reason: 'To Header Missing',
    pRegistrarError: 'To header not found',
  },
  REG_ERR_CALLID_MISS: {
    status: 400,
    reason: 'Call-ID Header Missing',
    pRegistrarError: 'Call-ID header not found',
  },
  REG_ERR_CSEQ_MISS: {
    status: 400,
    reason: 'CSeq Header Missing',
    pRegistrarError: 'CSeq header not found',
  },
  REG_ERR_CALLID_LEN: {
    status: 400,
    reason: 'Call-ID Too Long',
    pRegistrarError: 'Callid too long',
  },
  REG_ERR_AOR: {
    status: 400,
    reason: 'Bad Address Of Record',
    pRegistrarError: 'Error while parsing AOR',
  },
  REG_ERR_AOR_USER: {
    status: 400,
    reason: 'No Username In To URI',
    pRegistrarError: 'No username in To URI',
  },
  REG_ERR_AOR_UNESCAPE: {
    status: 400,
    reason: 'Bad Escape In Username',
    pRegistrarError: 'Error while unescaping username',
  },
  REG_ERR_AOR_LEN: {
    status: 500,
    reason: 'Address Of Record Too Long',
    pRegistrarError: 'Address Of Record too long',
  },
  REG_ERR_EXPIRES_PARSE: {
    status: 400,
    reason: 'Bad Expires Header',
    pRegistrarError: 'Expires parse error',
  },
  REG_ERR_CONTACT_PARSE: {
    status: 400,
    reason: 'Bad Contact Header',
    pRegistrarError: 'Contact parse error',
  },
  REG_ERR_STAR_EXP: {
    status: 400,
    reason: 'Star Contact With Non-Zero Expires',
    pRegistrarError: '* used in contact and expires is not zero',
  },
  REG_ERR_STAR_CONT: {
    status: 400,
    reason: 'Star Contact Mixed With Others',
    pRegistrarError: '* used in contact and more than 1 contact',
  },
  REG_ERR_TOO_LONG: {
    status: 400,
    reason: 'Contact Too Long',
    pRegistrarError: 'Contact/received too long',
  },
  REG_ERR_Q: {
    status: 400,
    reason: 'Invalid q Value',
    pRegistrarError: 'Invalid q param in contact',
  },
  REG_ERR_PATH_PARSE: {
    status: 400,
    reason: 'Bad Path Header',
    pRegistrarError: 'Path parse error',
  },
  // ---- refresh ordering (RFC 3261 §10.3 step 7)
  REG_ERR_CSEQ: {
    status: 400,
    reason: 'Invalid CSeq number',
    pRegistrarError: 'Invalid CSeq number',
  },
  // ---- RFC 5626 §6 (decisions Q-R2, Q-R5)
  REG_ERR_REGID: {
    status: 400,
    reason: 'Invalid Reg-Id number',
    pRegistrarError: 'Invalid Reg-Id number',
  },
  REG_ERR_MULTI_REGID: {
    status: 400,
    reason: 'Multiple Reg-Id Contacts',
    pRegistrarError: 'More than one contact with non-zero expires when reg-id is used',
  },
  REG_ERR_OB_UNSUP: {
    status: 421,
    reason: 'Extension Required',
    pRegistrarError: 'No support for Outbound indicated',
  },
  REG_ERR_OB_REQD_UNSUP: {
    status: 420,
    reason: 'Bad Extension',
    pRegistrarError: 'No support for Outbound on server',
  },
  REG_ERR_OB_UNSUP_EDGE: {
    status: 439,
    reason: 'First Hop Lacks Outbound Support',
    pRegistrarError: 'No support for Outbound on edge proxy',
  },
  // ---- RFC 3327 §5.3 (decision Q-R3)
  REG_ERR_PATH_UNSUP: {
    status: 420,
    reason: 'Bad Extension',
    pRegistrarError: 'No support for found Path indicated',
  },
  // ---- RFC 3261 §10.3 step 7: expiry below the minimum (min_expires_mode 1)
  REG_ERR_LOW_EXP: {
    status: 423,
    reason: 'Interval Too Brief',
    pRegistrarError: 'Interval too brief',
  },
  // ---- policy and location service
  REG_ERR_TOO_MANY: {
    status: 503,
    reason: 'Service Unavailable',
    pRegistrarError: 'Too many registered contacts',
  },
  // the location store's own code (LocationStoreError.code), so one code names a store outage everywhere
  REG_ERR_STORE: {
    status: 500,
    reason: LOCATION_STORE_ERROR_REASON,
    pRegistrarError: 'Location store failure',
  },
  REG_ERR_INTERNAL: {
    status: 500,
    reason: 'Server Internal Error',
    pRegistrarError: 'Internal registrar error',
  },
} as const satisfies Record<string, RegistrarErrorInfo>;

/** A registrar error code (`REG_ERR_*`). */
export type RegistrarErrorCode = keyof typeof REG_ERRORS;

/** Values some error replies carry besides the table row. */
export interface ErrorReplyContext {
  /** `min_expires`, for `Min-Expires` on 423 (RFC 3261 §20.23). */
  readonly minExpires?: number | undefined;
  /** The REGISTER's Path header values joined, echoed on 420 for Path (outbound.md §2.5). */
  readonly pathEcho?: string | undefined;
  /** `retry_after`: seconds for `Retry-After` on 5xx; 0 = none. */
  readonly retryAfter?: number | undefined;
}

/** A reply ready for `replyStateless`: status, reason and the extra header lines. */
export interface RegistrarReply {
  readonly status: number;
  readonly reason: string;
  readonly headers: readonly string[];
}

/**
 * The reply for a registrar error (outbound.md §2.6 rules 4 and 5): the table's status and
 * reason, the error-specific headers, `P-Registrar-Error`, and `Retry-After` for 5xx when
 * configured.
 */
export function registrarErrorReply(
  code: RegistrarErrorCode,
  rc: ErrorReplyContext = {},
): RegistrarReply {
  const e: RegistrarErrorInfo = REG_ERRORS[code];
  const headers: string[] = [];
  switch (code) {
    case 'REG_ERR_OB_UNSUP':
      // RFC 5626 §6 / RFC 3261 §21.4.16: 421 names the extension the UA must support
      headers.push('Require: outbound', 'Supported: outbound');
      break;
    case 'REG_ERR_OB_REQD_UNSUP':
      // RFC 3261 §8.2.2.3: 420 lists the unsupported option tag
      headers.push('Unsupported: outbound');
      break;
    case 'REG_ERR_PATH_UNSUP':
      // RFC 3327 §5.3: 420 with Unsupported: path; the Path values are echoed (outbound.md §2.5)
      headers.push('Unsupported: path');
      if (rc.pathEcho !== undefined) headers.push(`Path: ${rc.pathEcho}`);
      break;
    case 'REG_ERR_LOW_EXP':
      // RFC 3261 §10.3 step 7: 423 carries Min-Expires
      if (rc.minExpires !== undefined) headers.push(`Min-Expires: ${rc.minExpires}`);
      break;
    default:
      break;
  }
  headers.push(`P-Registrar-Error: ${e.pRegistrarError}`);
  if (e.status >= 500 && rc.retryAfter !== undefined && rc.retryAfter > 0)
    headers.push(`Retry-After: ${rc.retryAfter}`);
  return { status: e.status, reason: e.reason, headers };
}

/** True if `code` is a registrar error code of {@link REG_ERRORS}. */
export function isRegistrarErrorCode(code: string): code is RegistrarErrorCode {
  return Object.hasOwn(REG_ERRORS, code);
}
