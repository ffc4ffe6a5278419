/**
 * The error catalogue: every stable error code flowgate produces, with the SIP status it maps to.
 * `docs/errors.md` lists the same codes; a test keeps the two in sync.
 */
export const ERRORS = {
  // message layer (RFC 3261 §7, §20, §25)
  SIP_ERR_PARSE_START_LINE: { status: 400, reason: 'Bad Request Line' },
  SIP_ERR_PARSE_VERSION: { status: 505, reason: 'Version Not Supported' },
  SIP_ERR_PARSE_HEADER: { status: 400, reason: 'Bad Header' },
  SIP_ERR_PARSE_URI: { status: 400, reason: 'Bad Request URI' },
  SIP_ERR_PARSE_VIA: { status: 400, reason: 'Bad Via Header' },
  SIP_ERR_PARSE_FROM: { status: 400, reason: 'Invalid From Header' },
  SIP_ERR_PARSE_TO: { status: 400, reason: 'Invalid To Header' },
  SIP_ERR_PARSE_CALL_ID: { status: 400, reason: 'Bad Call-ID Header' },
  SIP_ERR_PARSE_CSEQ: { status: 400, reason: 'Bad CSeq Header' },
  SIP_ERR_PARSE_CONTENT_LENGTH: { status: 400, reason: 'Bad Content-Length' },
  SIP_ERR_PARSE_MAX_FORWARDS: { status: 400, reason: 'Bad Max-Forwards' },
  SIP_ERR_PARSE_CONTACT: { status: 400, reason: 'Bad Contact Header' },
  SIP_ERR_PARSE_EXPIRES: { status: 400, reason: 'Bad Expires Header' },
  SIP_ERR_PARSE_NAME_ADDR: { status: 400, reason: 'Bad Address' },
  SIP_ERR_PARSE_MISSING_HEADER: { status: 400, reason: 'Missing Required Header' },
  SIP_ERR_PARSE_DUPLICATE_HEADER: { status: 400, reason: 'Duplicate Header' },
  SIP_ERR_PARSE_BODY: { status: 400, reason: 'Body Length Mismatch' },
  SIP_ERR_PARSE_STATUS: { status: 400, reason: 'Bad Status Line' },
  SIP_ERR_LIMIT_SIZE: { status: 513, reason: 'Message Too Large' },
  SIP_ERR_LIMIT_HEADERS: { status: 400, reason: 'Too Many Headers' },
  SIP_ERR_LIMIT_LINE: { status: 400, reason: 'Header Line Too Long' },
  // transport (RFC 3261 §18, RFC 5626)
  SIP_ERR_FLOW_GONE: { status: 430, reason: 'Flow Failed' },
  SIP_ERR_TRANSPORT_SEND: { status: 503, reason: 'Service Unavailable' },
  SIP_ERR_TRANSPORT_UNSUPPORTED: { status: 503, reason: 'Transport Not Available' },
  SIP_ERR_TRANSPORT_FRAMING: { status: 400, reason: 'Missing Content-Length' },
  SIP_ERR_TRANSPORT_LIMIT: { status: 503, reason: 'Connection Limit Reached' },
  // transactions (RFC 3261 §17)
  SIP_ERR_TX_TIMEOUT: { status: 408, reason: 'Request Timeout' },
  SIP_ERR_TX_TRANSPORT: { status: 503, reason: 'Service Unavailable' },
  // proxy core (RFC 3261 §16)
  SIP_ERR_PROXY_UNRESOLVABLE: { status: 478, reason: 'Unresolvable Destination' },
  SIP_ERR_PROXY_SEND: { status: 477, reason: 'Error Sending To Next Hop' },
  SIP_ERR_PROXY_BAD_URI: { status: 479, reason: 'Unsupported Next Hop URI' },
  SIP_ERR_PROXY_LOOP: { status: 482, reason: 'Loop Detected' },
  SIP_ERR_PROXY_NO_BRANCHES: { status: 500, reason: 'No Destination For Request' },
  SIP_ERR_SCRIPT: { status: 500, reason: 'Script Error' },
  SIP_ERR_INTERNAL: { status: 500, reason: 'Server Internal Error' },
  // credentials store (Kamailio auth_db): unreachable or unreadable, never a reason to challenge
  SIP_ERR_AUTH_STORE: { status: 500, reason: 'Credentials Store Unavailable' },
  // config and API misuse (no SIP status: these never reach the wire)
  SIP_ERR_INVALID_ARGUMENT: { status: 500, reason: 'Invalid Argument' },
  SIP_ERR_CONFIG: { status: 500, reason: 'Invalid Configuration' },
} as const satisfies Record<string, { status: number; reason: string }>;

/** A stable, machine-readable error code. */
export type ErrorCode = keyof typeof ERRORS;
