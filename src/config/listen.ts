import { isIP } from 'node:net';
import type { Proto } from '../transport/types.js';

/** A parsed listen entry (config form; `advertise` still without a port when none was given). */
export interface ListenEntry {
  readonly proto: Proto;
  /** IP literal, IPv6 without brackets. */
  readonly address: string;
  readonly port: number;
  readonly advertise?: { readonly host: string; readonly port: number | undefined } | undefined;
}

/** Result of a config-string parser: a value, or what is wrong (said to the user as is). */
export type Parsed<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly message: string };

const PROTOS: readonly Proto[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** Kamailio's default ports when a listen line has none (WS/WSS have no SIP default: the port is required). */
const DEFAULT_PORT: Partial<Record<Proto, number>> = { udp: 5060, tcp: 5060, tls: 5061 };

const LISTEN_FORMAT = 'proto:address:port, e.g. udp:127.0.0.1:5060 or tcp:[::1]:5060';

/** Parses a port number (0..65535; 0 = any free port). */
export function parsePort(s: string): number | undefined {
  if (!/^\d{1,5}$/.test(s)) return undefined;
  const n = Number(s);
  return n <= 65_535 ? n : undefined;
}

/** Splits `host[:port]` / `[v6][:port]` into host and optional port. */
export function splitHostPort(s: string): Parsed<{ host: string; port: number | undefined }> {
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return { ok: false, message: `missing ']' in '${s}'` };
    const host = s.slice(1, close);
    const rest = s.slice(close + 1);
    if (rest === '') return { ok: true, value: { host, port: undefined } };
    if (!rest.startsWith(':'))
      return { ok: false, message: `unexpected '${rest}' after ']' in '${s}'` };
    const port = parsePort(rest.slice(1));
    if (port === undefined)
      return { ok: false, message: `bad port '${rest.slice(1)}' (expected 0..65535)` };
    return { ok: true, value: { host, port } };
  }
  const colons = s.split(':').length - 1;
  if (colons > 1) {
    const last = s.lastIndexOf(':');
    const guess = /^\d+$/.test(s.slice(last + 1))
      ? `[${s.slice(0, last)}]:${s.slice(last + 1)}`
      : `[${s}]`;
    return { ok: false, message: `an IPv6 address needs brackets: ${guess}` };
  }
  if (colons === 0) return { ok: true, value: { host: s, port: undefined } };
  const i = s.indexOf(':');
  const port = parsePort(s.slice(i + 1));
  if (port === undefined)
    return { ok: false, message: `bad port '${s.slice(i + 1)}' (expected 0..65535)` };
  return { ok: true, value: { host: s.slice(0, i), port } };
}

/** A host name or IP literal acceptable in a SIP URI / advertise. */
export function isHostName(h: string): boolean {
  if (isIP(h) !== 0) return true;
  return /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*\.?$/i.test(
    h,
  );
}

/** Parses an `advertise` value `host[:port]`. */
export function parseAdvertise(s: string): Parsed<{ host: string; port: number | undefined }> {
  const hp = splitHostPort(s.trim());
  if (!hp.ok) return hp;
  if (!isHostName(hp.value.host))
    return { ok: false, message: `'${hp.value.host}' is not a host name or IP address` };
  if (hp.value.port === 0) return { ok: false, message: 'an advertised port cannot be 0' };
  return hp;
}

/** Checks a listen address: an IP literal (the transport binds IP literals). */
export function checkListenAddress(host: string): string | undefined {
  if (isIP(host) !== 0) return undefined;
  if (host === 'localhost') return `'localhost' is not an IP address: use 127.0.0.1 or [::1]`;
  return `'${host}' is not an IP address (listeners bind to IP literals; to put a DNS name in Via/Record-Route/Path, use advertise)`;
}

/**
 * Parses a listen string: `proto:address[:port][ advertise host[:port]]` (Kamailio `listen=`
 * syntax). IPv6 addresses go in brackets. The port defaults to 5060 (UDP, TCP) or 5061 (TLS);
 * WS and WSS need one.
 */
export function parseListen(input: string): Parsed<ListenEntry> {
  const s = input.trim();
  const m = /^(\S+)(?:\s+advertise\s+(\S+))?$/i.exec(s);
  if (m === null)
    return {
      ok: false,
      message: `expected ${LISTEN_FORMAT} [advertise host:port], got '${input}'`,
    };
  const main = m[1] ?? '';
  const colon = main.indexOf(':');
  if (colon < 0)
    return { ok: false, message: `expected ${LISTEN_FORMAT}, got '${input}' (no transport)` };
  const proto = main.slice(0, colon).toLowerCase();
  if (!(PROTOS as readonly string[]).includes(proto)) {
    return {
      ok: false,
      message: `unknown transport '${main.slice(0, colon)}' (expected one of ${PROTOS.join(', ')}) in '${input}'`,
    };
  }
  const p = proto as Proto;
  const hp = splitHostPort(main.slice(colon + 1));
  if (!hp.ok) return { ok: false, message: `${hp.message} (expected ${LISTEN_FORMAT})` };
  const bad = checkListenAddress(hp.value.host);
  if (bad !== undefined) return { ok: false, message: bad };
  const port = hp.value.port ?? DEFAULT_PORT[p];
  if (port === undefined)
    return {
      ok: false,
      message: `${p} needs a port, e.g. ${p}:${hp.value.host.includes(':') ? `[${hp.value.host}]` : hp.value.host}:8080`,
    };
  let advertise: ListenEntry['advertise'];
  if (m[2] !== undefined) {
    const a = parseAdvertise(m[2]);
    if (!a.ok) return { ok: false, message: `advertise: ${a.message}` };
    advertise = a.value;
  }
  return { ok: true, value: { proto: p, address: hp.value.host, port, advertise } };
}

/** Formats a listen entry back to its string form (`udp:[::1]:5060`). */
export function formatListen(l: { proto: string; address: string; port: number }): string {
  return `${l.proto}:${l.address.includes(':') ? `[${l.address}]` : l.address}:${l.port}`;
}

/** True for 127.0.0.0/8, ::1 and `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (h.startsWith('::ffff:')) return isLoopback(h.slice(7));
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Parses the management `listen` value `host:port` (IP literal or localhost). */
export function parseHostPort(s: string): Parsed<{ host: string; port: number }> {
  const hp = splitHostPort(s.trim());
  if (!hp.ok) return hp;
  const { host, port } = hp.value;
  if (port === undefined)
    return { ok: false, message: `expected host:port, e.g. 127.0.0.1:8081, got '${s}'` };
  if (host !== 'localhost' && isIP(host) === 0)
    return {
      ok: false,
      message: `'${host}' is not an IP address (expected e.g. 127.0.0.1:8081 or [::1]:8081)`,
    };
  return { ok: true, value: { host, port } };
}
