// Who may talk to the management API: the Host check (DNS rebinding) and the bearer token.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { canonicalIp, ipFamily, unmapIPv4 } from '../transport/ip.js';
import { isLoopbackIp } from '../transport/route-source.js';
import { HttpError } from './http.js';

function sha(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** `host[:port]` of a Host header (lower case, IPv6 without brackets), or undefined when malformed. */
function parseHostHeader(h: string): { host: string; port: number | undefined } | undefined {
  const m = /^(?:\[([0-9a-f:.]+)\]|([^[\]:/@\s]+))(?::(\d{1,5}))?$/i.exec(h);
  if (m === null) return undefined;
  const host = (m[1] ?? m[2] ?? '').toLowerCase();
  if (m[1] !== undefined && ipFamily(host) !== 6) return undefined;
  return { host, port: m[3] === undefined ? undefined : Number(m[3]) };
}

function sameAddress(a: string, b: string): boolean {
  const ca = canonicalIp(unmapIPv4(a) ?? a).toLowerCase();
  return ca === canonicalIp(unmapIPv4(b) ?? b).toLowerCase();
}

/**
 * The API's access checks. The Host header must name this server before anything else (a web page
 * whose name resolves to 127.0.0.1 must not reach the API through the user's browser): the address
 * the request reached with its port, `localhost:port` on a loopback address, or a name of
 * `management.hosts`. The token is compared in constant time (of its hash).
 */
export class Access {
  readonly #tokenHash: Buffer;
  readonly #names: ReadonlySet<string>;

  constructor(token: string, hosts: readonly string[] | undefined) {
    this.#tokenHash = sha(token);
    this.#names = new Set((hosts ?? []).map((h) => h.toLowerCase()));
  }

  /** Throws 421 when the Host header does not name this server. */
  checkHost(req: IncomingMessage): void {
    if (this.#hostAllowed(req)) return;
    const la = req.socket.localAddress ?? '';
    const ip = unmapIPv4(la) ?? la;
    const here = `${ip.includes(':') ? `[${ip}]` : ip}:${req.socket.localPort}`;
    // RFC 9110 §15.5.20: 421, this server does not answer for that authority
    throw new HttpError(
      421,
      'misdirected',
      req.headers.host === undefined || req.headers.host === ''
        ? `a Host header is required: send Host: ${here} (HTTP/1.1)`
        : `Host ${JSON.stringify(req.headers.host)} does not name this server: use ${here}, or add the name to management.hosts`,
    );
  }

  /** The request carries `Authorization: Bearer <the token>`. */
  authorized(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    return m?.[1] !== undefined && timingSafeEqual(sha(m[1].trim()), this.#tokenHash);
  }

  #hostAllowed(req: IncomingMessage): boolean {
    const raw = req.headers.host;
    if (raw === undefined || raw === '') return false;
    const h = parseHostHeader(raw);
    if (h === undefined) return false;
    if (this.#names.has(h.host)) return true;
    const local = req.socket.localAddress ?? '';
    // RFC 9110 §7.2: no port means the scheme's default (80)
    if ((h.port ?? 80) !== req.socket.localPort) return false;
    if (h.host === 'localhost') return isLoopbackIp(local);
    // the address the connection reached, never 0.0.0.0 or :: (a listener on any address is
    // named by the address a client used; "0.0.0.0" in a browser is a way to reach loopback)
    return ipFamily(h.host) !== 0 && sameAddress(h.host, local);
  }
}

/** The 401 of a request without the token. */
export function unauthorized(): HttpError {
  return new HttpError(
    401,
    'unauthorized',
    'missing or wrong token: send Authorization: Bearer <management.token>',
  );
}
