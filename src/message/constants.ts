/** Well-known header ids: the scanner recognises these names (any case, compact forms) without allocating. */
export const Hdr = {
  Other: 0,
  Via: 1,
  From: 2,
  To: 3,
  CallId: 4,
  CSeq: 5,
  Contact: 6,
  ContentLength: 7,
  MaxForwards: 8,
  Route: 9,
  RecordRoute: 10,
  Path: 11,
  Supported: 12,
  Require: 13,
  ProxyRequire: 14,
  Unsupported: 15,
  Expires: 16,
  MinExpires: 17,
  FlowTimer: 18,
  ContentType: 19,
  Allow: 20,
  UserAgent: 21,
  Server: 22,
  Event: 23,
  Subject: 24,
  ContentEncoding: 25,
  AllowEvents: 26,
  ReferTo: 27,
  ReferredBy: 28,
  Authorization: 29,
  ProxyAuthorization: 30,
  WwwAuthenticate: 31,
  ProxyAuthenticate: 32,
  Accept: 33,
  Date: 34,
  Timestamp: 35,
  Organization: 36,
  Priority: 37,
  Warning: 38,
  RetryAfter: 39,
  SessionExpires: 40,
  AcceptContact: 41,
  RejectContact: 42,
  RequestDisposition: 43,
  Identity: 44,
  IdentityInfo: 45,
  PRegistrarError: 46,
  Gruu: 47,
} as const;
export type Hdr = (typeof Hdr)[keyof typeof Hdr];

/** Canonical spelling of each well-known header, indexed by id. */
export const HDR_NAMES: readonly string[] = [
  '',
  'Via',
  'From',
  'To',
  'Call-ID',
  'CSeq',
  'Contact',
  'Content-Length',
  'Max-Forwards',
  'Route',
  'Record-Route',
  'Path',
  'Supported',
  'Require',
  'Proxy-Require',
  'Unsupported',
  'Expires',
  'Min-Expires',
  'Flow-Timer',
  'Content-Type',
  'Allow',
  'User-Agent',
  'Server',
  'Event',
  'Subject',
  'Content-Encoding',
  'Allow-Events',
  'Refer-To',
  'Referred-By',
  'Authorization',
  'Proxy-Authorization',
  'WWW-Authenticate',
  'Proxy-Authenticate',
  'Accept',
  'Date',
  'Timestamp',
  'Organization',
  'Priority',
  'Warning',
  'Retry-After',
  'Session-Expires',
  'Accept-Contact',
  'Reject-Contact',
  'Request-Disposition',
  'Identity',
  'Identity-Info',
  'P-Registrar-Error',
  'Gruu',
];

/** RFC 3261 §7.3.3 and later RFCs: compact header forms. */
export const COMPACT_FORMS: Readonly<Record<string, Hdr>> = {
  v: Hdr.Via,
  f: Hdr.From,
  t: Hdr.To,
  i: Hdr.CallId,
  m: Hdr.Contact,
  l: Hdr.ContentLength,
  c: Hdr.ContentType,
  k: Hdr.Supported,
  s: Hdr.Subject,
  e: Hdr.ContentEncoding,
  o: Hdr.Event,
  u: Hdr.AllowEvents,
  r: Hdr.ReferTo,
  b: Hdr.ReferredBy,
  a: Hdr.AcceptContact,
  j: Hdr.RejectContact,
  d: Hdr.RequestDisposition,
  x: Hdr.SessionExpires,
  y: Hdr.Identity,
  n: Hdr.IdentityInfo,
};

const BY_LOWER = new Map<string, Hdr>();
for (let id = 1; id < HDR_NAMES.length; id++)
  BY_LOWER.set((HDR_NAMES[id] ?? '').toLowerCase(), id as Hdr);
for (const [k, id] of Object.entries(COMPACT_FORMS)) BY_LOWER.set(k, id);

/** Header id for a name in any case or compact form; `Hdr.Other` if not well known. */
export function headerId(name: string): Hdr {
  return BY_LOWER.get(name.toLowerCase()) ?? Hdr.Other;
}

/**
 * Headers whose value is a comma-separated list (RFC 3261 §7.3.1). Others (From, To, Call-ID,
 * CSeq, the authentication headers, Date, User-Agent…) are never split.
 */
export const LIST_HEADERS: ReadonlySet<Hdr> = new Set<Hdr>([
  Hdr.Via,
  Hdr.Contact,
  Hdr.Route,
  Hdr.RecordRoute,
  Hdr.Path,
  Hdr.Supported,
  Hdr.Require,
  Hdr.ProxyRequire,
  Hdr.Unsupported,
  Hdr.Allow,
  Hdr.AllowEvents,
  Hdr.Accept,
  Hdr.ContentEncoding,
  Hdr.Warning,
  Hdr.AcceptContact,
  Hdr.RejectContact,
  Hdr.RequestDisposition,
]);

/** Headers that may appear at most once (RFC 3261 §7.3.1, RFC 4475 §3.3.8). */
export const SINGLE_HEADERS: ReadonlySet<Hdr> = new Set<Hdr>([
  Hdr.From,
  Hdr.To,
  Hdr.CallId,
  Hdr.CSeq,
  Hdr.ContentLength,
  Hdr.MaxForwards,
  Hdr.Expires,
  Hdr.ContentType,
]);

export const Method = {
  INVITE: 'INVITE',
  ACK: 'ACK',
  BYE: 'BYE',
  CANCEL: 'CANCEL',
  OPTIONS: 'OPTIONS',
  REGISTER: 'REGISTER',
  SUBSCRIBE: 'SUBSCRIBE',
  NOTIFY: 'NOTIFY',
  MESSAGE: 'MESSAGE',
  INFO: 'INFO',
  PRACK: 'PRACK',
  UPDATE: 'UPDATE',
  REFER: 'REFER',
  PUBLISH: 'PUBLISH',
} as const;

/** The well-known methods; METHOD_WORDS holds each one's bytes packed four to a word (the last word of a method holds its remaining bytes), METHOD_WORD_AT[i] where they start. */
const METHOD_LIST: readonly string[] = Object.values(Method);
const METHOD_WORDS = new Int32Array(METHOD_LIST.length * 3);
const METHOD_WORD_AT = new Int32Array(METHOD_LIST.length);
/** 1 + index in METHOD_LIST of the method of each (length, first letter) slot, 0 when none. */
const METHOD_SLOT = new Uint8Array(16 * 32);
{
  let w = 0;
  for (let i = 0; i < METHOD_LIST.length; i++) {
    const m = METHOD_LIST[i] ?? '';
    METHOD_WORD_AT[i] = w;
    for (let j = 0; j < m.length; j += 4) {
      let word = 0;
      for (let k = j; k < j + 4 && k < m.length; k++) word = (word << 8) | m.charCodeAt(k);
      METHOD_WORDS[w++] = word;
    }
    // one method per (length, first letter): another one sharing both is sliced, still correct
    const k = (m.length << 5) | (m.charCodeAt(0) & 0x1f);
    if (METHOD_SLOT[k] === 0) METHOD_SLOT[k] = i + 1;
  }
}

/**
 * The method written in b[x, y) (RFC 3261 §7.1: case-sensitive), as a shared string for the
 * well-known methods so that reading it allocates nothing; `s` is the same text as a string.
 */
export function methodName(b: Uint8Array, s: string, x: number, y: number): string {
  return knownMethod(b, x, y) ?? s.slice(x, y);
}

/** The well-known method written in b[x, y) as a shared string, or undefined. */
export function knownMethod(b: Uint8Array, x: number, y: number): string | undefined {
  const len = y - x;
  if (len >= 16) return undefined;
  const m = (METHOD_SLOT[(len << 5) | ((b[x] ?? 0) & 0x1f)] ?? 0) - 1;
  if (m < 0) return undefined;
  // compared four bytes at a time
  let wi = METHOD_WORD_AT[m] ?? 0;
  let i = x;
  for (; i + 4 <= y; i += 4, wi++) {
    const w =
      ((b[i] ?? 0) << 24) | ((b[i + 1] ?? 0) << 16) | ((b[i + 2] ?? 0) << 8) | (b[i + 3] ?? 0);
    if (w !== METHOD_WORDS[wi]) return undefined;
  }
  if (i < y) {
    let w = 0;
    for (; i < y; i++) w = (w << 8) | (b[i] ?? 0);
    if (w !== METHOD_WORDS[wi]) return undefined;
  }
  return METHOD_LIST[m];
}

/** RFC 3261 §8.2.6: the Via branch magic cookie. */
export const MAGIC_COOKIE = 'z9hG4bK';

/** Default reason phrases (RFC 3261 §21 and the extensions flowgate speaks). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  430: 'Flow Failed',
  439: 'First Hop Lacks Outbound Support',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  491: 'Request Pending',
  493: 'Undecipherable',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
};

export function reasonPhrase(status: number): string {
  return (
    REASON_PHRASES[status] ?? (status < 200 ? 'Provisional' : status < 300 ? 'Success' : 'Error')
  );
}
