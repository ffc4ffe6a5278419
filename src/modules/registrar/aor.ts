import { percentDecode as uriUnescape } from '../../message/parse/chars.js';
import { parseUri, SipUri, TelUri, type Uri } from '../../message/parse/uri.js';
import type { RegistrarErrorCode } from './codes.js';
import type { ResolvedRegistrarParams } from './params.js';

/** Longest user and host part of an AoR, and of the whole AoR (Kamailio limits, outbound.md §2.2). */
export const MAX_AOR_USER = 248;
export const MAX_AOR_HOST = 248;
export const MAX_AOR = 512;

/** An address-of-record key and the parts it came from. */
export interface Aor {
  /** The location-service key: `user`, or `user@host` with `use_domain`. */
  readonly key: string;
  /** The user part as written in the URI (escaped), case per `case_sensitive`. */
  readonly user: string;
  /** The host, lower-cased (empty for a tel URI). */
  readonly host: string;
}

/** {@link extractAor}'s result: the AoR, or the registrar error to answer with. */
export type AorResult =
  | { readonly ok: true; readonly aor: Aor }
  | { readonly ok: false; readonly code: RegistrarErrorCode };

/**
 * The AoR of a URI (outbound.md §2.2, with decision Q-R6): the %-unescaped user part, plus
 * `@host` with `use_domain`. With `case_sensitive` 1 (flowgate's default) the user keeps its case
 * (RFC 3261 §19.1.4: the user part compares case-sensitively) and the host is lower-cased; with 0 the
 * whole AoR is lower-cased, as Kamailio does. A `tel:` URI's number is its user part.
 */
export function extractAor(uri: string | Uri, p: ResolvedRegistrarParams): AorResult {
  let u: Uri;
  if (typeof uri === 'string') {
    const r = parseUri(uri);
    if (!r.ok) return { ok: false, code: 'REG_ERR_AOR' };
    u = r.value;
  } else u = uri;
  let rawUser: string | undefined;
  let host = '';
  if (u instanceof SipUri) {
    rawUser = u.user;
    host = u.hostname;
  } else if (u instanceof TelUri) rawUser = u.number;
  else return { ok: false, code: 'REG_ERR_AOR' };
  if (rawUser === undefined || rawUser === '') return { ok: false, code: 'REG_ERR_AOR_USER' };
  // RFC 3261 §19.1.2: escaped and unescaped forms of a user part are equivalent
  let user = uriUnescape(rawUser);
  if (user === undefined) return { ok: false, code: 'REG_ERR_AOR_UNESCAPE' };
  if (
    user.length > MAX_AOR_USER ||
    host.length > MAX_AOR_HOST ||
    user.length + host.length + 2 > MAX_AOR
  ) {
    return { ok: false, code: 'REG_ERR_AOR_LEN' };
  }
  let written = rawUser;
  if (p.case_sensitive === 0) {
    user = user.toLowerCase();
    written = written.toLowerCase();
  }
  const key = p.use_domain === 1 && host !== '' ? `${user}@${host}` : user;
  return { ok: true, aor: { key, user: written, host } };
}
