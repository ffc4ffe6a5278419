import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SipError } from '../errors/index.js';
import type { Binding, LocationStore } from '../modules/location/binding.js';
import { canonicalIp, ipFamily, unmapIPv4 } from '../transport/ip.js';
import type { Logger } from '../util/logger.js';
import { CaptureApi } from './capture-api.js';
import { WebConsole, type WebConsoleOptions } from './console/index.js';
import { type ProcessInfo, renderMetrics } from './metrics.js';
import { registrarsJson } from './registrars.js';
import type { StoreMetrics } from './timed-store.js';
import { handleUsersRequest, type UsersApiOptions } from './users-api.js';
import {
  bindingJson,
  closeFlowOf,
  flowJson,
  flowsOf,
  flowTokenFailuresOf,
  type ManagedElement,
  transportStatsOf,
} from './view.js';

/** Log levels `PUT /v1/loglevel` accepts (pino's, plus `silent`). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type ApiLogLevel = (typeof LOG_LEVELS)[number];

/** Reads and sets the log level at run time (the CLI's pino logger). */
export interface LogLevelControl {
  /** The level of the process, or of one element's log lines. */
  level(element?: string): string;
  /** Sets the level of the whole process (every element with it), or of one element's lines. */
  setLevel(level: ApiLogLevel, element?: string): void;
}

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
  /** The log level control `/v1/loglevel` uses; absent: that route answers 404 not_configured. */
  readonly logLevel?: LogLevelControl | undefined;
  /**
   * Reads the elements' TLS files again (`POST /v1/tls/reload`, certificate renewal); absent: that
   * route answers 404 not_configured.
   */
  readonly reloadTls?: (() => readonly TlsReloadOutcome[]) | undefined;
  /** The live web console (`/console/`, `/v1/events`; docs/console.md): its settings, or false for none. */
  readonly console?: false | Omit<WebConsoleOptions, 'elements' | 'version' | 'logger'> | undefined;
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

/** Transports `?transport=` accepts. */
const TRANSPORTS: readonly string[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];
const MAX_LIMIT = 1000;
const DEFAULT_LIMIT = 100;
/** What reloading one element's TLS material did (`POST /v1/tls/reload` answers a list of them). */
export interface TlsReloadOutcome {
  readonly element: string;
  readonly ok: boolean;
  /** Why the previous certificate stays in use. */
  readonly error?: string | undefined;
}

/** Largest body `PUT /v1/loglevel` reads. */
const MAX_BODY_BYTES = 1024;

/** The JSON object in a small request body. */
async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, 'too_large', `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'bad_request', 'the body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'bad_request', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

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
  const capture = new CaptureApi(opts.elements, log);
  const web =
    opts.console === false
      ? undefined
      : new WebConsole({
          ...opts.console,
          elements: opts.elements,
          version: opts.info.version,
          logger: log,
        });

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

  /** The element named `name` (`?element=`), or a 404 naming the elements there are. */
  const elementNamed = (name: string): ManagedElement => {
    const all = opts.elements();
    const e = all.find((x) => x.server.name === name);
    if (e === undefined)
      throw new HttpError(
        404,
        'not_found',
        `no element '${name}' (there are: ${all.map((x) => x.server.name).join(', ')})`,
      );
    return e;
  };

  /** Every element, or the one `?element=` names. */
  const selected = (q: URLSearchParams): readonly ManagedElement[] => {
    const name = q.get('element');
    return name === null || name === '' ? opts.elements() : [elementNamed(name)];
  };

  const storesOf = (element: string | undefined): ManagedElement[] => {
    // one entry per store: elements may share one
    const seen = new Set<LocationStore>();
    const withStore = opts.elements().filter((e) => {
      if (e.location === undefined || seen.has(e.location)) return false;
      seen.add(e.location);
      return true;
    });
    if (element === undefined || element === '') return withStore;
    const e = elementNamed(element);
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

  /** `DELETE /v1/flows/:id`: closes a connection flow (its peer sees the connection end). */
  const closeFlow = (id: string, q: URLSearchParams): unknown => {
    for (const e of selected(q)) {
      const f = flowsOf(e).find((x) => x.id === id);
      if (f === undefined) continue;
      if (f.proto === 'udp')
        throw new HttpError(
          409,
          'conflict',
          `flow ${id} is a UDP flow: there is no connection to close (it ends when its peer stops sending; remove its bindings with flowgate ctl unbind)`,
        );
      const closed = closeFlowOf(e, id);
      if (closed === undefined)
        throw new HttpError(
          501,
          'not_implemented',
          `the transport of element '${e.server.name}' cannot close flows`,
        );
      if (!closed) break; // it closed in between
      const shown = flowJson(e, f);
      log.info(
        { flow: id, element: e.server.name, transport: f.proto, peer: shown.peer },
        'flow closed through the management API',
      );
      return { closed: shown };
    }
    const element = q.get('element');
    throw new HttpError(
      404,
      'not_found',
      `no open flow '${id}'${element === null || element === '' ? '' : ` of element '${element}'`} (flowgate ctl flows lists them)`,
    );
  };

  const stats = async (q: URLSearchParams): Promise<unknown> => {
    const out: Record<string, unknown> = {};
    for (const e of selected(q)) {
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
    // the web console: its page (no token), its session, state and event stream (token or cookie)
    const consoleRoute = { path, rawPath: url.pathname, method, query: q, authorized: allowed };
    if (web !== undefined && (await web.handle(req, res, consoleRoute))) return;
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
        elements: selected(q).map((e) => ({
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
      const transport = q.get('transport')?.toLowerCase();
      if (transport !== undefined && transport !== '' && !TRANSPORTS.includes(transport))
        throw new HttpError(
          400,
          'bad_request',
          `transport: expected one of ${TRANSPORTS.join(', ')}, got '${q.get('transport')}'`,
        );
      const flows = selected(q).flatMap((e) =>
        flowsOf(e)
          .filter((f) => transport === undefined || transport === '' || f.proto === transport)
          .map((f) => flowJson(e, f)),
      );
      send(res, 200, { flows });
      return;
    }
    const fm = /^\/v1\/flows\/([^/]+)$/.exec(path);
    if (fm !== null) {
      only('DELETE');
      send(res, 200, closeFlow(decodeURIComponent(fm[1] ?? ''), q));
      return;
    }
    if (path === '/v1/stats') {
      only('GET');
      send(res, 200, await stats(q));
      return;
    }
    if (path === '/v1/registrars') {
      // an edge's registrar set: state, since when, last probe (issue 12 §2)
      only('GET');
      send(res, 200, { registrars: registrarsJson(selected(q)) });
      return;
    }
    if (path === '/v1/loglevel') {
      const control = opts.logLevel;
      if (control === undefined)
        throw new HttpError(404, 'not_configured', 'this server has no log level control');
      if (method === 'PUT') {
        const body = await readJsonObject(req);
        for (const k of Object.keys(body))
          if (k !== 'level' && k !== 'element')
            throw new HttpError(
              400,
              'bad_request',
              `unknown field '${k}' (expected level, element)`,
            );
        const level = body['level'];
        if (typeof level !== 'string' || !(LOG_LEVELS as readonly string[]).includes(level))
          throw new HttpError(
            400,
            'bad_request',
            `level: expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(level ?? null)}`,
          );
        const element = body['element'];
        if (element !== undefined && typeof element !== 'string')
          throw new HttpError(400, 'bad_request', 'element: expected a string');
        if (element !== undefined) elementNamed(element);
        const before = control.level(element);
        // logged before the change, so that it shows at the level that was in force
        log.info(
          // `level` is pino's own key: name the values apart
          { log_level: level, previous_log_level: before, element: element ?? null },
          'log level changed through the management API',
        );
        control.setLevel(level as ApiLogLevel, element);
      } else {
        if (method !== 'GET' && method !== 'HEAD') {
          res.setHeader('allow', 'GET, PUT');
          throw new HttpError(405, 'method_not_allowed', `${method} ${path}: use GET or PUT`);
        }
        const element = q.get('element');
        if (element !== null && element !== '') elementNamed(element);
      }
      send(res, 200, {
        level: control.level(),
        elements: Object.fromEntries(
          opts.elements().map((e) => [e.server.name, control.level(e.server.name)]),
        ),
      });
      return;
    }
    if (path === '/v1/tls/reload') {
      only('POST');
      const elements = opts.reloadTls?.() ?? [];
      if (elements.length === 0)
        throw new HttpError(404, 'not_configured', 'no element has tls: files to reload');
      const failed = elements.filter((e) => !e.ok);
      if (failed.length > 0) {
        send(res, 422, {
          error: 'tls_reload_failed',
          message: `${failed.map((e) => `${e.element}: ${e.error}`).join('; ')} (the previous certificate stays in use)`,
          elements,
        });
        return;
      }
      send(res, 200, { elements });
      return;
    }
    if (await handleUsersRequest(req, res, path, q, opts.credentials, log)) return;
    if (await capture.handle(req, res, path, q)) return;
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
      `no route ${method} ${path} (try /health, /metrics, /v1/elements, /v1/bindings, /v1/flows, /v1/stats, /v1/loglevel, /v1/users, /v1/capture, /v1/trace)`,
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
      web?.close();
      capture.close();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
