// URI comparison (RFC 3261 §19.1.4): equal URIs, as a proxy and a registrar must tell them.
import { canonicalEscapes, percentDecode } from './chars.js';
import { isIpv6 } from './host.js';
import type { Params } from './params.js';
import { AbsoluteUri, SipUri, TelUri, type Uri } from './uri.js';

/** Parameters that must match when present in either URI (RFC 3261 §19.1.4). */
const SPECIAL_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

function canonicalHost(h: string): string {
  const l = h.toLowerCase();
  if (l.charCodeAt(0) !== 0x5b) return l;
  // RFC 4291 §2.2: one IPv6 address has several text forms; compare the addresses
  const a = l.slice(1, -1);
  const groups = ipv6Groups(a);
  return groups === undefined ? l : `[${groups.join(':')}]`;
}

function ipv6Groups(a: string): string[] | undefined {
  if (!isIpv6(a)) return undefined;
  let text = a;
  const dot = text.lastIndexOf(':');
  if (text.includes('.')) {
    // convert an IPv4 tail to two hex groups
    const v4 = text
      .slice(dot + 1)
      .split('.')
      .map(Number);
    const hi = ((v4[0] ?? 0) << 8) | (v4[1] ?? 0);
    const lo = ((v4[2] ?? 0) << 8) | (v4[3] ?? 0);
    text = `${text.slice(0, dot + 1)}${hi.toString(16)}:${lo.toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? [] : new Array<string>(8 - h.length - t.length).fill('0');
  return [...h, ...zeros, ...t].map((g) => Number.parseInt(g, 16).toString(16));
}

function canon(s: string | undefined): string | undefined {
  return s === undefined ? undefined : canonicalEscapes(s);
}

function headerSet(h: string | undefined): string[] {
  if (h === undefined) return [];
  return h
    .split('&')
    .map((kv) => {
      const eq = kv.indexOf('=');
      const k = percentDecode(eq < 0 ? kv : kv.slice(0, eq)) ?? kv;
      const v = percentDecode(eq < 0 ? '' : kv.slice(eq + 1)) ?? '';
      return `${k.toLowerCase()}=${v}`;
    })
    .sort();
}

/** Parameters by canonical lower-case name, values canonical and lower-cased (null: no value). */
function paramMap(p: Params): Map<string, string | null> {
  const m = new Map<string, string | null>();
  for (let i = 0; i < p.size; i++) {
    const v = p.values[i];
    m.set(
      canonicalEscapes(p.names[i] ?? '').toLowerCase(),
      v === null || v === undefined ? null : canonicalEscapes(v).toLowerCase(),
    );
  }
  return m;
}

/**
 * RFC 3261 §19.1.4 URI comparison: user and password case-sensitive, host case-insensitive (IPv6
 * as an address), explicit port ≠ omitted port, `user`/`ttl`/`method`/`maddr`/`transport` must
 * match when present in either URI, other parameters only when present in both, headers always;
 * escapes of unreserved characters equal the characters themselves.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a instanceof SipUri && b instanceof SipUri) {
    if (a.scheme !== b.scheme) return false;
    if (canon(a.user) !== canon(b.user)) return false;
    if (canon(a.password) !== canon(b.password)) return false;
    if (canonicalHost(a.host) !== canonicalHost(b.host)) return false;
    if (a.port !== b.port) return false;
    const pa = paramMap(a.params);
    const pb = paramMap(b.params);
    for (const p of SPECIAL_PARAMS) if (pa.get(p) !== pb.get(p)) return false;
    for (const [name, va] of pa) {
      const vb = pb.get(name);
      if (vb !== undefined && vb !== va) return false;
    }
    const ha = headerSet(a.headers);
    const hb = headerSet(b.headers);
    return ha.length === hb.length && ha.every((x, i) => x === hb[i]);
  }
  if (a instanceof TelUri && b instanceof TelUri) {
    // RFC 3966 §4: visual separators are ignored; parameters compare case-insensitively
    const strip = (n: string) => n.replace(/[-.()]/g, '').toLowerCase();
    return (
      strip(a.number) === strip(b.number) &&
      a.params.toString().toLowerCase() === b.params.toString().toLowerCase()
    );
  }
  if (a instanceof AbsoluteUri && b instanceof AbsoluteUri) {
    return a.scheme === b.scheme && a.raw.slice(a.scheme.length) === b.raw.slice(b.scheme.length);
  }
  return false;
}
