// The process routes of the management API: health, metrics, elements, stats, registrars, flows
// (list, close), the run-time log level, and reloading TLS files.
import type { Logger } from '../util/logger.js';
import { HttpError, type RouteHandler, readJsonObject, sendJson } from './http.js';
import { type ProcessInfo, renderMetrics } from './metrics.js';
import { registrarsJson } from './registrars.js';
import type { RouteId } from './routes.js';
import { elementNamed, selected } from './select.js';
import type { StoreMetrics } from './timed-store.js';
import {
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

/** What reloading one element's TLS material did (`POST /v1/tls/reload` answers a list of them). */
export interface TlsReloadOutcome {
  readonly element: string;
  readonly ok: boolean;
  /** Why the previous certificate stays in use. */
  readonly error?: string | undefined;
}

/** Transports `?transport=` accepts. */
const TRANSPORTS: readonly string[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];
/** Largest body `PUT /v1/loglevel` reads. */
const MAX_BODY_BYTES = 1024;

/** What the process routes read. */
export interface StatusApiOptions {
  readonly elements: () => readonly ManagedElement[];
  readonly storeMetrics: StoreMetrics;
  readonly info: ProcessInfo;
  readonly log: Logger;
  readonly logLevel?: LogLevelControl | undefined;
  readonly reloadTls?: (() => readonly TlsReloadOutcome[]) | undefined;
  /** True once the process is stopping (`/health` answers 503). */
  readonly stopping: () => boolean;
}

type StatusRoute =
  | 'health'
  | 'metrics'
  | 'elements'
  | 'stats'
  | 'registrars'
  | 'flows.list'
  | 'flows.close'
  | 'loglevel.get'
  | 'loglevel.set'
  | 'tls.reload';

/** The handlers of the process routes. */
export function statusHandlers(o: StatusApiOptions): Record<StatusRoute & RouteId, RouteHandler> {
  const { elements, log } = o;
  const uptime = (): number => Math.round((Date.now() - o.info.startedAt) / 1000);

  const control = (): LogLevelControl => {
    if (o.logLevel === undefined)
      throw new HttpError(404, 'not_configured', 'this server has no log level control');
    return o.logLevel;
  };
  const levels = (c: LogLevelControl): unknown => ({
    level: c.level(),
    elements: Object.fromEntries(elements().map((e) => [e.server.name, c.level(e.server.name)])),
  });

  return {
    health: (r) => {
      const status = o.stopping() ? 'stopping' : 'ok';
      // a probe without a token learns up or stopping and nothing more
      sendJson(
        r.res,
        status === 'ok' ? 200 : 503,
        r.authorized
          ? { status, uptime: uptime(), elements: elements().map((e) => e.server.name) }
          : { status },
      );
    },

    metrics: async (r) => {
      const text = await renderMetrics(elements(), o.storeMetrics, o.info);
      r.res.writeHead(200, {
        'content-type': 'text/plain; version=0.0.4; charset=utf-8',
        'content-length': Buffer.byteLength(text),
      });
      r.res.end(text);
    },

    elements: (r) =>
      sendJson(r.res, 200, {
        elements: selected(elements(), r.query).map((e) => ({
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
      }),

    stats: async (r) => {
      const out: Record<string, unknown> = {};
      for (const e of selected(elements(), r.query)) {
        const s = e.server.core.stats;
        let bindings: number | null = null;
        if (e.location !== undefined) {
          try {
            bindings = await e.location.count();
          } catch {
            bindings = null;
          }
        }
        const byProto: Record<string, number> = {};
        for (const f of flowsOf(e)) byProto[f.proto] = (byProto[f.proto] ?? 0) + 1;
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
      sendJson(r.res, 200, {
        uptime: uptime(),
        version: o.info.version,
        memory: { rss: mem.rss, heap_used: mem.heapUsed },
        store: o.storeMetrics.latency
          .snapshot()
          .map((x) => ({ ...x.labels, count: x.count, seconds: x.sum })),
        elements: out,
      });
    },

    // an edge's registrar set: state, since when, last probe (issue 12 §2)
    registrars: (r) =>
      sendJson(r.res, 200, { registrars: registrarsJson(selected(elements(), r.query)) }),

    'flows.list': (r) => {
      const q = r.query;
      const transport = q.get('transport')?.toLowerCase();
      if (transport !== undefined && transport !== '' && !TRANSPORTS.includes(transport))
        throw new HttpError(
          400,
          'bad_request',
          `transport: expected one of ${TRANSPORTS.join(', ')}, got '${q.get('transport')}'`,
        );
      const flows = selected(elements(), q).flatMap((e) =>
        flowsOf(e)
          .filter((f) => transport === undefined || transport === '' || f.proto === transport)
          .map((f) => flowJson(e, f)),
      );
      sendJson(r.res, 200, { flows });
    },

    // closes a connection flow: its peer sees the connection end
    'flows.close': (r) => {
      const id = r.params['id'] ?? '';
      for (const e of selected(elements(), r.query)) {
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
        sendJson(r.res, 200, { closed: shown });
        return;
      }
      const element = r.query.get('element');
      throw new HttpError(
        404,
        'not_found',
        `no open flow '${id}'${element === null || element === '' ? '' : ` of element '${element}'`} (flowgate ctl flows lists them)`,
      );
    },

    'loglevel.get': (r) => {
      const c = control();
      const element = r.query.get('element');
      if (element !== null && element !== '') elementNamed(elements(), element);
      sendJson(r.res, 200, levels(c));
    },

    'loglevel.set': async (r) => {
      const c = control();
      const body = await readJsonObject(r.req, MAX_BODY_BYTES);
      for (const k of Object.keys(body))
        if (k !== 'level' && k !== 'element')
          throw new HttpError(400, 'bad_request', `unknown field '${k}' (expected level, element)`);
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
      if (element !== undefined) elementNamed(elements(), element);
      const before = c.level(element);
      // logged before the change, so that it shows at the level that was in force
      log.info(
        // `level` is pino's own key: name the values apart
        { log_level: level, previous_log_level: before, element: element ?? null },
        'log level changed through the management API',
      );
      c.setLevel(level as ApiLogLevel, element);
      sendJson(r.res, 200, levels(c));
    },

    'tls.reload': (r) => {
      const outcomes = o.reloadTls?.() ?? [];
      if (outcomes.length === 0)
        throw new HttpError(404, 'not_configured', 'no element has tls: files to reload');
      const failed = outcomes.filter((e) => !e.ok);
      if (failed.length > 0) {
        sendJson(r.res, 422, {
          error: 'tls_reload_failed',
          message: `${failed.map((e) => `${e.element}: ${e.error}`).join('; ')} (the previous certificate stays in use)`,
          elements: outcomes,
        });
        return;
      }
      sendJson(r.res, 200, { elements: outcomes });
    },
  };
}
