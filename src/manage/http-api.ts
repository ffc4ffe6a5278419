// The management HTTP API: the server, and the dispatch from the route table (routes.ts) to the
// handlers (status-api.ts, bindings-api.ts, users-api.ts, capture-api.ts, console/). The reference,
// docs/api.md, is generated from the same table.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/logger.js';
import { Access, unauthorized } from './access.js';
import { bindingsHandlers } from './bindings-api.js';
import { CaptureApi } from './capture-api.js';
import { WebConsole, type WebConsoleOptions } from './console/index.js';
import { HttpError, type RouteHandler, type RouteRequest, sendJson } from './http.js';
import type { ProcessInfo } from './metrics.js';
import { normalizePath, ROUTES, type RouteId, type RouteSpec, routesFor } from './routes.js';
import { type LogLevelControl, statusHandlers, type TlsReloadOutcome } from './status-api.js';
import type { StoreMetrics } from './timed-store.js';
import { type UsersApiOptions, usersHandlers } from './users-api.js';
import type { ManagedElement } from './view.js';

export {
  type ApiLogLevel,
  LOG_LEVELS,
  type LogLevelControl,
  type TlsReloadOutcome,
} from './status-api.js';

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

/** The paths a 404 suggests: the routes without parameters, but the console's own. */
const TRY = [
  ...new Set(
    ROUTES.filter((r) => r.area !== 'Web console' && !r.path.includes(':')).map((r) => r.path),
  ),
].join(', ');

/**
 * The management API (HTTP, JSON; the routes and who may call them: routes.ts, docs/api.md).
 * Before anything else the Host header must name this server (DNS-rebinding protection: a web page
 * whose name resolves to 127.0.0.1 must not reach the API through the user's browser); any other
 * Host, or none (HTTP/1.0), gets 421. Then the route's `auth` decides: most need
 * `Authorization: Bearer <token>`; `/health` without an Authorization header answers only its
 * status (up or stopping) for probes; the console page's files need nothing.
 */
export async function startManagementServer(opts: ManagementOptions): Promise<ManagementServer> {
  const access = new Access(opts.token, opts.hosts);
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

  /** A console route: 404 not_configured when the console is off. */
  const consoleRoute =
    (f: (w: WebConsole, r: RouteRequest) => void | Promise<void>): RouteHandler =>
    (r) => {
      if (web === undefined)
        throw new HttpError(404, 'not_configured', 'the web console is off in this server');
      return f(web, r);
    };
  /** The capture routes keep their own module (capture-api.ts). */
  const captureRoute: RouteHandler = async (r) => {
    await capture.handle(r.req, r.res, r.path, r.query);
  };

  // every route of the table has its handler (the type says so), and nothing else is served
  const handlers: Record<RouteId, RouteHandler> = {
    ...statusHandlers({
      elements: opts.elements,
      storeMetrics: opts.storeMetrics,
      info: opts.info,
      log,
      logLevel: opts.logLevel,
      reloadTls: opts.reloadTls,
      stopping: () => stopping,
    }),
    ...bindingsHandlers(opts.elements, log),
    ...usersHandlers(() => opts.credentials, log),
    'capture.get': captureRoute,
    'capture.set': captureRoute,
    trace: captureRoute,
    'console.root': consoleRoute((w, r) => w.root(r)),
    'console.page': consoleRoute((w, r) => w.page(r)),
    'console.file': consoleRoute((w, r) => w.page(r)),
    'console.session.open': consoleRoute((w, r) => w.openSession(r)),
    'console.session.close': consoleRoute((w, r) => w.closeSession(r)),
    'console.state': consoleRoute((w, r) => w.state(r)),
    'console.rates': consoleRoute((w, r) => w.rates(r)),
    'console.stats': consoleRoute((w, r) => sendJson(r.res, 200, w.stats())),
    events: consoleRoute((w, r) => w.events(r)),
  };

  /** May this request call `route`? */
  const allowedFor = (route: RouteSpec, req: RouteRequest['req'], token: boolean): boolean => {
    switch (route.auth) {
      case 'none':
        return true;
      case 'probe':
        // load balancers and liveness probes carry no token: without one (not with a wrong one)
        return token || req.headers.authorization === undefined;
      case 'token_or_session':
        return token || (web?.hasSession(req) ?? false);
      case 'token':
        return token;
    }
  };

  const dispatch = async (req: RouteRequest['req'], res: RouteRequest['res']): Promise<void> => {
    access.checkHost(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = normalizePath(url.pathname);
    const method = req.method ?? 'GET';
    const token = access.authorized(req);
    const candidates = routesFor(path);
    const hit = candidates.find(
      (c) => c.route.method === method || (method === 'HEAD' && c.route.method === 'GET'),
    );
    if (hit === undefined) {
      // an unknown path or method says nothing to a caller without the token, except on the
      // paths anyone may read
      const open = candidates.some((c) => c.route.auth === 'none' || c.route.auth === 'probe');
      if (!token && !open) throw unauthorized();
      if (candidates.length === 0)
        throw new HttpError(404, 'not_found', `no route ${method} ${path} (try ${TRY})`);
      const methods = [...new Set(candidates.map((c) => c.route.method))];
      res.setHeader('allow', methods.join(', '));
      throw new HttpError(
        405,
        'method_not_allowed',
        `${method} ${path}: use ${methods.join(' or ')}`,
      );
    }
    if (!allowedFor(hit.route, req, token)) throw unauthorized();
    const params: Record<string, string> = {};
    // a bad %-escape is a URIError: 400 below
    for (const [k, v] of Object.entries(hit.params)) params[k] = decodeURIComponent(v);
    await handlers[hit.route.id]({
      req,
      res,
      method,
      path,
      rawPath: url.pathname,
      query: url.searchParams,
      params,
      authorized: token,
    });
  };

  const server: Server = createServer((req, res) => {
    dispatch(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        log.error({ err: e, url: req.url }, 'management API request failed');
        res.destroy();
        return;
      }
      if (e instanceof HttpError) {
        if (e.httpStatus === 401) res.setHeader('www-authenticate', 'Bearer realm="flowgate"');
        sendJson(res, e.httpStatus, { error: e.error, message: e.message });
        return;
      }
      if (e instanceof URIError) {
        sendJson(res, 400, { error: 'bad_request', message: 'bad %-escape in the path' });
        return;
      }
      log.error({ err: e, url: req.url }, 'management API request failed');
      sendJson(res, 500, {
        error: 'internal',
        message: e instanceof Error ? e.message : String(e),
      });
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
