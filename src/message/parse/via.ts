import { fail, ok, type ParseResult } from '../../errors/sip-error.js';
import { skipLws, TOKEN, trimEnd } from './chars.js';
import { type Params, parseParams } from './params.js';
import { isValidHost } from './uri.js';

/** One Via value (RFC 3261 §20.42, RFC 3581 rport). */
export interface Via {
  /** Protocol name and version, normally `SIP/2.0`. */
  readonly protocol: string;
  /** Transport in upper case: UDP, TCP, TLS, SCTP, WS, WSS or anything else. */
  readonly transport: string;
  /** sent-by host as written (IPv6 keeps brackets). */
  readonly host: string;
  readonly port: number | undefined;
  readonly params: Params;
  /** The whole value as written. */
  readonly raw: string;
}

export function viaBranch(v: Via): string | undefined {
  const b = v.params.get('branch');
  return typeof b === 'string' ? b : undefined;
}

/** `host[:port]` of the sent-by, host lower-cased, for transaction matching. */
export function viaSentBy(v: Via): string {
  return v.port === undefined ? v.host.toLowerCase() : `${v.host.toLowerCase()}:${v.port}`;
}

/** Parses one via-parm occupying `s[start, end)`. */
export function parseVia(s: string, start = 0, end = s.length): ParseResult<Via> {
  let i = skipLws(s, start, end);
  end = trimEnd(s, i, end);
  const raw = s.slice(i, end);
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport (LWS allowed around SLASH)
  const parts: string[] = [];
  for (let k = 0; k < 3; k++) {
    const ts = i;
    i = scanTokenLoose(s, i, end);
    if (i === ts) return fail('SIP_ERR_PARSE_VIA', 'Via', 'bad sent-protocol');
    parts.push(s.slice(ts, i));
    i = skipLws(s, i, end);
    if (k < 2) {
      if (s.charCodeAt(i) !== 0x2f) return fail('SIP_ERR_PARSE_VIA', 'Via', "expected '/' in sent-protocol");
      i = skipLws(s, i + 1, end);
    }
  }
  const [name, version, transport] = parts as [string, string, string];
  if (name.toUpperCase() !== 'SIP') return fail('SIP_ERR_PARSE_VIA', 'Via', 'protocol is not SIP');
  // sent-by
  if (i >= end) return fail('SIP_ERR_PARSE_VIA', 'Via', 'missing sent-by');
  const hs = i;
  let he: number;
  if (s.charCodeAt(i) === 0x5b) {
    he = s.indexOf(']', i);
    if (he < 0 || he >= end) return fail('SIP_ERR_PARSE_VIA', 'Via', 'unterminated IPv6 reference');
    he++;
  } else {
    he = i;
    while (he < end) {
      const c = s.charCodeAt(he);
      if (c === 0x3a || c === 0x3b || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
      he++;
    }
  }
  const host = s.slice(hs, he);
  if (!isValidHost(host)) return fail('SIP_ERR_PARSE_VIA', 'Via', `bad sent-by host '${host.slice(0, 64)}'`);
  i = skipLws(s, he, end);
  let port: number | undefined;
  if (s.charCodeAt(i) === 0x3a) {
    i = skipLws(s, i + 1, end);
    const ps = i;
    while (i < end && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    if (i === ps || i - ps > 5) return fail('SIP_ERR_PARSE_VIA', 'Via', 'bad sent-by port');
    port = Number(s.slice(ps, i));
    if (port > 65535 || port === 0) return fail('SIP_ERR_PARSE_VIA', 'Via', 'sent-by port out of range');
  }
  const p = parseParams(s, i, end, ',');
  if (p.bad || skipLws(s, p.end, end) !== end) return fail('SIP_ERR_PARSE_VIA', 'Via', 'bad Via parameters');
  return ok({ protocol: `${name}/${version}`, transport: transport.toUpperCase(), host, port, params: p.params, raw });
}

function scanTokenLoose(s: string, i: number, end: number): number {
  while (i < end && TOKEN[s.charCodeAt(i)] === 1) i++;
  return i;
}
