import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SipError } from '../errors/index.js';
import type { Binding, LocationStore } from '../modules/location/binding.js';
import { canonicalIp, ipFamily, unmapIPv4 } from '../transport/ip.js';
import type { Logger } from '../util/logger.js';
import { type ProcessInfo, renderMetrics } from './metrics.js';
import type { StoreMetrics } from './timed-store.js';
import { handleUsersRequest, type UsersApiOptions } from './users-api.js';
import {
  bindingJson,
  flowJson,
  flowsOf,
  flowTokenFailuresOf,
  type ManagedElement,
  transportStatsOf,
} from './view.js';

/** Settings of the management API. */
export interface ManagementOptions {
  readonly host: string;
  /** 0 = any free port. */
  readonly port: number;
  /**
   * Bearer token every request must carry (issue 10 §6: always one; `flowgate start` generates it
   * into the data directory when the configuration sets none).
   */
  readonly token: string;
  /**
   * Further names accepted in the Host header, with any port (a reverse proxy's name, `localhost`
   * for an SSH tunnel). Always accepted: the address the request reached, with its port, and
   * `localhost:port` on a loopback address.
   */
  readonly hosts?: readonly string[] | undefined;
  /** The running elements (read on every request). */
  readonly elements: () => readonly ManagedElement[];
  readonly storeMetrics: StoreMetrics;
  readonly info: ProcessInfo;
  readonly logger: Logger;
  /** The credentials store `/v1/users` manages; absent: those routes answer 404 not_configured. */
  readonly credentials?: UsersApiOptions | undefined;
}

/** A running management API. */
export interface ManagementServer {
  /** `http://host:port` (the real port). */
  readonly url: string;
  /** Marks the process as stopping: `/health` answers 503 from then on. */
  setStopping(): void;
  close(): Promise<void>;
}

/** A request the API refuses: HTTP status, a stable error word, and what is wrong. */
class HttpError extends SipError {
  override name = 'HttpError';
  readonly httpStatus: number;
  readonly error: string;
  constructor(httpStatus: number, error: string, message: string) {
    super(`MGMT_ERR_${error.toUpperCase()}`, message);
    this.httpStatus = httpStatus;
    this.error = error;
  }
}

const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;

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

function isLoopbackIp(a: string): boolean {
  const v = unmapIPv4(a) ?? a;
  return ipFamily(v) === 4 ? v.startsWith('127.') : canonicalIp(v) === '::1';
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** A cursor over several stores: which element, and that store's own cursor. */
function encodeCursor(element: string, c: string): string {
  return Buffer.from(JSON.stringify([element, c])).toString('base64url');
}

function decodeCursor(s: string): { element: string; cursor: string } {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'string')
      return { element: v[0], cursor: v[1] };
  } catch {
    // fall through
  }
  throw new HttpError(400, 'bad_request', 'cursor: not a cursor this API returned');
}

/**
 * The management API (HTTP, JSON): health, elements, bindings (list, page, delete), flows, stats,
 * and Prometheus `/metrics`. Every route needs `Authorization: Bearer <token>`, except `/health`
 * without an Authorization header, which then answers only its status (up or stopping) for probes.
 * Before anything else the Host header must name this server (DNS-rebinding protection: a web page
 * whose name resolves to 127.0.0.1 must not reach the API through the user's browser); any other
 * Host, or none (HTTP/1.0), gets 421.
 */
export async function startManagementServer(opts: ManagementOptions): Promise<ManagementServer> {
  const tokenHash = sha(opts.token);
  const names = new Set((opts.hosts ?? []).map((h) => h.toLowerCase()));
  let stopping = false;
  const log = opts.logger.child({ component: 'management' });

  /** The Host header names this server: the address the request reached, localhost on loopback, or a configured name. */
  const hostAllowed = (req: IncomingMessage): boolean => {
    const raw = req.headers.host;
    if (raw === undefined || raw === '') return false;
    const h = parseHostHeader(raw);
    if (h === undefined) return false;
    if (names.has(h.host)) return true;
    const local = req.socket.localAddress ?? '';
    // RFC 9110 §7.2: no port means the scheme's default (80)
    if ((h.port ?? 80) !== req.socket.localPort) return false;
    if (h.host === 'localhost') return isLoopbackIp(local);
    // the address the connection reached, never 0.0.0.0 or :: (a listener on any address is
    // named by the address a client used; "0.0.0.0" in a browser is a way to reach loopback)
    return ipFamily(h.host) !== 0 && sameAddress(h.host, local);
  };

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(.+)$/i.exec(h);
    return m?.[1] !== undefined && timingSafeEqual(sha(m[1].trim()), tokenHash);
  };

  const storesOf = (element: string | undefined): ManagedElement[] => {
    // one entry per store: elements may share one
    const seen = new Set<LocationStore>();
    const withStore = opts.elements().filter((e) => {
      if (e.location === undefined || seen.has(e.location)) return false;
      seen.add(e.location);
      return true;
    });
    if (element === undefined) return withStore;
    const e = opts.elements().find((x) => x.server.name === element);
    if (e === undefined) throw new HttpError(404, 'not_found', `no element '${element}'`);
    if (e.location === undefined)
      throw new HttpError(
        404,
        'not_found',
        `element '${element}' has no location store (it runs no registrar)`,
      );
    return [e];
  };

  const aorKey = (e: ManagedElement, input: string): string => e.aorKey?.(input) ?? input;

  const listBindings = async (q: URLSearchParams): Promise<unknown> => {
    const element = q.get('element') ?? undefined;
    const aor = q.get('aor') ?? undefined;
    const limitText = q.get('limit');
    const limit = limitText === null ? DEFAULT_LIMIT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT)
      throw new HttpError(
        400,
        'bad_request',
        `limit: expected an integer 1..${MAX_LIMIT}, got '${limitText}'`,
      );
    const stores = storesOf(element);
    if (aor !== undefined && aor !== '') {
      const out = [];
      for (const e of stores) {
        const loc = e.location as LocationStore;
        for (const b of await loc.get(aorKey(e, aor))) out.push(bindingJson(e.server.name, b));
      }
      return { bindings: out, next: null };
    }
    // page through the stores one after the other
    let start = 0;
    let inner: string | undefined;
    const cursorText = q.get('cursor');
    if (cursorText !== null && cursorText !== '') {
      const c = decodeCursor(cursorText);
      start = stores.findIndex((e) => e.server.name === c.element);
      if (start < 0)
        throw new HttpError(
          400,
          'bad_request',
          `cursor: element '${c.element}' is not listed here`,
        );
      inner = c.cursor === '' ? undefined : c.cursor;
    }
    const out = [];
    let next: string | null = null;
    for (let i = start; i < stores.length && out.length < limit; i++) {
      const e = stores[i] as ManagedElement;
      const page = await (e.location as LocationStore).list(
        i === start ? inner : undefined,
        limit - out.length,
      );
      for (const b of page.bindings) out.push(bindingJson(e.server.name, b));
      if (page.next !== undefined) {
        next = encodeCursor(e.server.name, page.next);
        break;
      }
      if (out.length >= limit && i + 1 < stores.length) {
        // the next store starts from its beginning: encode "before the first" as an empty cursor
        next = encodeCursor((stores[i + 1] as ManagedElement).server.name, '');
        break;
      }
    }
    return { bindings: out, next };
  };

  const deleteBindings = async (
    aorIn: string,
    ruid: string | undefined,
    q: URLSearchParams,
  ): Promise<unknown> => {
    const stores = storesOf(q.get('element') ?? undefined);
    let removed = 0;
    const seen = new Set<LocationStore>();
    for (const e of stores) {
      const loc = e.location as LocationStore;
      if (seen.has(loc)) continue;
      seen.add(loc);
      const aor = aorKey(e, aorIn);
      if (ruid === undefined) removed += await loc.removeAor(aor);
      else {
        const b: Binding | undefined = await loc.getByRuid(ruid);
        if (b !== undefined && b.aor === aor) {
          await loc.apply(aor, { upsert: [], remove: [ruid] });
          removed++;
        }
      }
    }
    if (removed === 0)
      throw new HttpError(
        404,
        'not_found',
        ruid === undefined ? `no bindings for '${aorIn}'` : `no binding '${ruid}' of '${aorIn}'`,
      );
    log.info({ aor: aorIn, ruid, removed }, 'bindings removed through the management API');
    return { removed };
  };

  const stats = async (): Promise<unknown> => {
    const out: Record<string, unknown> = {};
    for (const e of opts.elements()) {
      const s = e.server.core.stats;
      let bindings: number | null = null;
      if (e.location !== undefined) {
        try {
          bindings = await e.location.count();
        } catch {
          bindings = null;
        }
      }
      const flows = flowsOf(e);
      const byProto: Record<string, number> = {};
      for (const f of flows) byProto[f.proto] = (byProto[f.proto] ?? 0) + 1;
      out[e.server.name] = {
        requests: s.requests,
        replies: s.replies,
        transactions: { server: e.server.layer.serverCount, client: e.server.layer.clientCount },
        flows: byProto,
        bindings,
        flow_failed_430: s.flowFailed430,
        flow_token_failures: flowTokenFailuresOf(e),
        script_errors: s.scriptErrors,
        transport: transportStatsOf(e) ?? null,
      };
    }
    const mem = process.memoryUsage();
    return {
      uptime: Math.round((Date.now() - opts.info.startedAt) / 1000),
      version: opts.info.version,
      memory: { rss: mem.rss, heap_used: mem.heapUsed },
      store: opts.storeMetrics.latency
        .snapshot()
        .map((x) => ({ ...x.labels, count: x.count, seconds: x.sum })),
      elements: out,
    };
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!hostAllowed(req)) {
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
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const q = url.searchParams;
    const only = (m: string): void => {
      if (method !== m && !(m === 'GET' && method === 'HEAD')) {
        res.setHeader('allow', m);
        throw new HttpError(405, 'method_not_allowed', `${method} ${path}: use ${m}`);
      }
    };
    const allowed = authorized(req);
    // load balancers and liveness probes carry no token: /health without one (not with a wrong
    // one) answers up or stopping and nothing more
    if (path === '/health' && (allowed || req.headers.authorization === undefined)) {
      only('GET');
      const status = stopping ? 'stopping' : 'ok';
      send(
        res,
        stopping ? 503 : 200,
        allowed
          ? {
              status,
              uptime: Math.round((Date.now() - opts.info.startedAt) / 1000),
              elements: opts.elements().map((e) => e.server.name),
            }
          : { status },
      );
      return;
    }
    if (!allowed) {
      res.setHeader('www-authenticate', 'Bearer realm="flowgate"');
      throw new HttpError(
        401,
        'unauthorized',
        'missing or wrong token: send Authorization: Bearer <management.token>',
      );
    }
    if (path === '/metrics') {
      only('GET');
      const text = await renderMetrics(opts.elements(), opts.storeMetrics, opts.info);
      res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      res.end(text);
      return;
    }
    if (path === '/v1/elements') {
      only('GET');
      send(res, 200, {
        elements: opts.elements().map((e) => ({
          name: e.server.name,
          script: e.script,
          modules: e.modules,
          listen: e.server.transport.listeners.map((l) => ({
            transport: l.proto,
            address: l.address,
            port: l.port,
            advertise: l.advertise ?? null,
          })),
          location: e.location?.name ?? null,
        })),
      });
      return;
    }
    if (path === '/v1/flows') {
      only('GET');
      const element = q.get('element');
      const transport = q.get('transport')?.toLowerCase();
      const els = opts.elements().filter((e) => element === null || e.server.name === element);
      if (element !== null && els.length === 0)
        throw new HttpError(404, 'not_found', `no element '${element}'`);
      const flows = els.flatMap((e) =>
        flowsOf(e)
          .filter((f) => transport === undefined || transport === '' || f.proto === transport)
          .map((f) => flowJson(e, f)),
      );
      send(res, 200, { flows });
      return;
    }
    if (path === '/v1/stats') {
      only('GET');
      send(res, 200, await stats());
      return;
    }
    if (await handleUsersRequest(req, res, path, q, opts.credentials, log)) return;
    if (path === '/v1/bindings') {
      only('GET');
      send(res, 200, await listBindings(q));
      return;
    }
    const m = /^\/v1\/bindings\/([^/]+)(?:\/([^/]+))?$/.exec(path);
    if (m !== null) {
      if (method === 'GET' && m[2] === undefined) {
        const p = new URLSearchParams(q);
        p.set('aor', decodeURIComponent(m[1] ?? ''));
        send(res, 200, await listBindings(p));
        return;
      }
      only('DELETE');
      send(
        res,
        200,
        await deleteBindings(
          decodeURIComponent(m[1] ?? ''),
          m[2] === undefined ? undefined : decodeURIComponent(m[2]),
          q,
        ),
      );
      return;
    }
    throw new HttpError(
      404,
      'not_found',
      `no route ${method} ${path} (try /health, /metrics, /v1/elements, /v1/bindings, /v1/flows, /v1/stats, /v1/users)`,
    );
  };

  const server: Server = createServer((req, res) => {
    route(req, res).catch((e: unknown) => {
      if (e instanceof HttpError) {
        send(res, e.httpStatus, { error: e.error, message: e.message });
        return;
      }
      if (e instanceof URIError) {
        send(res, 400, { error: 'bad_request', message: 'bad %-escape in the path' });
        return;
      }
      log.error({ err: e, url: req.url }, 'management API request failed');
      if (!res.headersSent)
        send(res, 500, { error: 'internal', message: e instanceof Error ? e.message : String(e) });
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address() as AddressInfo;
  const host = a.address.includes(':') ? `[${a.address}]` : a.address;
  return {
    url: `http://${host}:${a.port}`,
    setStopping() {
      stopping = true;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
