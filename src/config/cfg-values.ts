import type { Path } from './cfg-common.js';
import { splitHostPort } from './listen.js';
import type { LogLevel } from './types.js';

// Kamailio values as flowgate configuration values: booleans, integers, debug levels, listen=
// lines and db_url strings.

export function setPath(o: Record<string, unknown>, path: Path, v: unknown): void {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) {
    const k = String(path[i]);
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      cur[k] = fresh;
      cur = fresh;
    } else cur = next as Record<string, unknown>;
  }
  cur[String(path[path.length - 1])] = v;
}

/** Kamailio booleans: yes/no, on/off, true/false, 1/0. */
export function flagValue(v: string | number): boolean | string | number {
  if (typeof v === 'number') return v;
  const s = v.trim().toLowerCase();
  if (['yes', 'on', 'true', '1'].includes(s)) return true;
  if (['no', 'off', 'false', '0'].includes(s)) return false;
  return v;
}

export function intValue(v: string | number): number | string {
  if (typeof v === 'number') return v;
  return /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
}

export function convert(v: string | number, kind: 'int' | 'flag' | 'string'): unknown {
  if (kind === 'int') return intValue(v);
  if (kind === 'flag') return flagValue(v);
  return String(v);
}

/** Kamailio `debug` levels → flowgate log levels. */
export function logLevelOf(debug: number): LogLevel {
  if (debug <= -2) return 'fatal';
  if (debug === -1) return 'error';
  if (debug === 0) return 'warn';
  if (debug <= 2) return 'info';
  return debug === 3 ? 'debug' : 'trace';
}

/**
 * One `listen=` value in Kamailio's syntax: `[proto:]address[:port] [advertise host[:port]] [name "x"]`.
 * Without a protocol it is UDP and TCP (and TLS when enable_tls).
 */
export function listenEntries(
  value: string,
  port: number,
  tls: boolean,
  tcp: boolean,
): { ok: true; entries: string[] } | { ok: false; message: string } {
  const words = value.trim().split(/\s+/);
  const main = words[0] ?? '';
  let advertise: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]?.toLowerCase();
    if (w === 'advertise' && words[i + 1] !== undefined) {
      advertise = words[++i];
      continue;
    }
    if (w === 'name' && words[i + 1] !== undefined) {
      i++;
      continue;
    }
    if (w === 'virtual') continue;
    return {
      ok: false,
      message: `listen=${value}: unexpected '${words[i]}' (expected advertise host:port or name "x")`,
    };
  }
  const m = /^(udp|tcp|tls|sctp|ws|wss):(.*)$/i.exec(main);
  const proto = m?.[1]?.toLowerCase();
  const rest = m === null ? main : (m[2] ?? '');
  if (proto === 'sctp')
    return {
      ok: false,
      message: `listen=${value}: SCTP is not supported by flowgate (udp, tcp, tls, ws, wss)`,
    };
  const hp = splitHostPort(rest);
  if (!hp.ok) return { ok: false, message: `listen=${value}: ${hp.message}` };
  const host = hp.value.host === '*' ? '0.0.0.0' : hp.value.host;
  // TLS (enable_tls) on its own port, 5061, when the line names no port
  const protos =
    proto !== undefined
      ? [proto]
      : ['udp', ...(tcp ? ['tcp'] : []), ...(tls && hp.value.port === undefined ? ['tls'] : [])];
  const adv = advertise === undefined ? '' : ` advertise ${advertise}`;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    ok: true,
    entries: protos.map((p) => {
      const pp = hp.value.port ?? (p === 'tls' ? 5061 : port);
      return `${p}:${h}:${pp}${adv}`;
    }),
  };
}

/** A Kamailio db_url as a flowgate store: `sqlite:///path`, `redis://…`; `text://` (db_text) → SQLite. */
export function dbUrl(
  url: string,
  module: 'usrloc' | 'auth_db',
): { ok: true; value: Record<string, unknown>; note?: string } | { ok: false; message: string } {
  const sq = /^sqlite:\/\/(.*)$/i.exec(url);
  if (sq !== null) return { ok: true, value: { backend: 'sqlite', path: sq[1] ?? '' } };
  if (/^rediss?(\+(sentinel|cluster))?:\/\//i.test(url))
    return { ok: true, value: { backend: 'redis', url } };
  if (/^text:\/\//i.test(url) && module === 'auth_db')
    return {
      ok: true,
      value: { backend: 'sqlite' },
      note: `flowgate does not read db_text tables: users are kept in subscriber.db in the data directory (add them with flowgate user add user@domain -c <this file>)`,
    };
  const scheme = url.split(':')[0];
  return {
    ok: false,
    message: `flowgate's ${module === 'usrloc' ? 'location' : 'credentials'} store is sqlite:///path or redis://host (${scheme} is not supported)`,
  };
}
