import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../../util/logger.js';
import { HttpError, type RouteRequest, sendJson } from '../http.js';
import { flowsOf, type ManagedElement } from '../view.js';
import { RateHistory } from './rates.js';
import {
  buildState,
  DEFAULT_LIMITS,
  PathDecoder,
  type SnapshotLimits,
  WallClock,
} from './snapshot.js';
import {
  CONSOLE_VIEWS,
  type ConsoleRatePoint,
  type ConsoleState,
  type ConsoleView,
} from './types.js';

/** Settings of the web console. */
export interface WebConsoleOptions {
  readonly elements: () => readonly ManagedElement[];
  readonly version: string;
  readonly logger: Logger;
  /** Where the built page is (default: the package's `dist/console`, written by `npm run build`). */
  readonly assetsDir?: string | undefined;
  /**
   * How often the console looks for a row that came or went, and pushes it (default 250 ms); other
   * changes (ages, refreshed expiries) are pushed every `refreshMs` (default 1000 ms).
   */
  readonly pushIntervalMs?: number | undefined;
  readonly refreshMs?: number | undefined;
  /** Rate sampling step (default 1000 ms) and points kept (default 900: 15 minutes). */
  readonly rateStepMs?: number | undefined;
  readonly ratePoints?: number | undefined;
  /** Event streams open at once (default 32); more get 503. */
  readonly maxStreams?: number | undefined;
  /** How long a console session cookie lives (default 12 h). */
  readonly sessionTtlMs?: number | undefined;
  readonly limits?: SnapshotLimits | undefined;
}

/** The package's `dist/console` (the same path from `src/manage/console` and `dist/manage/console`). */
export const DEFAULT_ASSETS_DIR = fileURLToPath(new URL('../../../dist/console/', import.meta.url));

/** The cookie an event stream may authenticate with (EventSource cannot send Authorization). */
export const SESSION_COOKIE = 'flowgate_console';
const MAX_SESSIONS = 256;
/** A comment line on an idle stream, so that proxies and the browser keep it open. */
const HEARTBEAT_MS = 15_000;
/** A page that reads this far behind is dropped (it reconnects and gets the whole state again). */
const MAX_BUFFERED = 4 * 1024 * 1024;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/**
 * The page may load only its own files and talk only to this server; nothing may frame it (its
 * buttons unregister users and close flows).
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
} as const;

interface Stream {
  readonly res: ServerResponse;
  readonly query: string;
  readonly view: ConsoleView;
  /** The state last sent, without its timestamp (nothing is sent while it stays the same). */
  last: string | undefined;
  lastWrite: number;
}

interface Asset {
  readonly mtimeMs: number;
  readonly body: Buffer;
  readonly etag: string;
}

/** Sum of a counter kept per method or per status. */
function total(counts: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const k in counts) n += counts[k] ?? 0;
  return n;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const h = req.headers.cookie;
  if (h === undefined) return undefined;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/**
 * The live web console of the management API (issue 13 §2): the page's files under `/console/`
 * (no token: they hold no data), and, all with the management token, `POST /v1/console/session`
 * (a cookie for the event stream), `GET /v1/console/state`, `GET /v1/console/rates`,
 * `GET /v1/console/stats` (what the push costs), and `GET /v1/events?view=&q=`, a Server-Sent Events
 * stream of the state of one view and search (a row that came or went within `pushIntervalMs`,
 * anything else within `refreshMs`; nothing while nothing changes) and of one rate point a second.
 * Pages with the same view and search share one state, built and serialized once.
 *
 * The token never travels in a URL: EventSource cannot send an Authorization header, so the page
 * first trades its token (sent as a header) for an HttpOnly, SameSite=Strict session cookie that
 * opens `GET /v1/events` and nothing else. Every write (unregister, close a flow) goes to the
 * existing `/v1` routes with the token in the header, so no request a foreign page can make
 * carries authority (no CSRF). The management API's Host check runs before all of this; its route
 * table (routes.ts) says who may call what, and dispatches to the methods below.
 */
export class WebConsole {
  readonly #opts: WebConsoleOptions;
  readonly #log: Logger;
  readonly #assetsDir: string;
  readonly #assets = new Map<string, Asset>();
  readonly #rates: RateHistory;
  readonly #decoder = new PathDecoder();
  readonly #wallClock = new WallClock();
  readonly #limits: SnapshotLimits;
  readonly #streams = new Set<Stream>();
  /** Session id -> expiry (epoch ms). */
  readonly #sessions = new Map<string, number>();
  readonly #rateTimer: NodeJS.Timeout;
  #pushTimer: NodeJS.Timeout | undefined;
  #pushing = false;
  /** Per group of pages (view and search): the signature and time of its last state. */
  readonly #built = new Map<string, { sig: string; at: number }>();
  /** What pushing has cost so far (the console's own accounting, `GET /v1/console/stats`). */
  readonly #cost = { states: 0, events: 0, bytes: 0, ms: 0 };
  #closed = false;

  constructor(opts: WebConsoleOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#assetsDir = opts.assetsDir ?? DEFAULT_ASSETS_DIR;
    this.#limits = opts.limits ?? DEFAULT_LIMITS;
    const step = opts.rateStepMs ?? 1000;
    this.#rates = new RateHistory(opts.ratePoints ?? 900, step / 1000);
    this.#sampleRates();
    // always sampled, so the charts have their 15 minutes when a page opens
    this.#rateTimer = setInterval(() => this.#onRateTick(), step);
    this.#rateTimer.unref();
  }

  /** Event streams open now. */
  get streams(): number {
    return this.#streams.size;
  }

  /**
   * What the push has cost since start: states built, events and bytes written, and the time spent
   * building and writing them (ms; with an in-memory store all of it is CPU time of this process).
   */
  stats(): { streams: number; states: number; events: number; bytes: number; ms: number } {
    return {
      streams: this.#streams.size,
      ...this.#cost,
      ms: Math.round(this.#cost.ms * 1000) / 1000,
    };
  }

  /** Stops the timers and ends every event stream. */
  close(): void {
    this.#closed = true;
    clearInterval(this.#rateTimer);
    if (this.#pushTimer !== undefined) clearInterval(this.#pushTimer);
    this.#pushTimer = undefined;
    for (const s of this.#streams) s.res.end();
    this.#streams.clear();
  }

  /** A browser opening the API's address lands on the console (with a token, `/` is the API). */
  root(r: RouteRequest): void {
    if (r.req.headers.authorization !== undefined)
      throw new HttpError(404, 'not_found', `no route ${r.method} ${r.path}`);
    r.res.writeHead(302, { location: '/console/', 'content-length': 0 }).end();
  }

  /** `/console/` (the page; `/console` redirects there) and `/console/:file`. */
  async page(r: RouteRequest): Promise<void> {
    if (r.rawPath === '/console') {
      r.res.writeHead(301, { location: '/console/', 'content-length': 0 }).end();
      return;
    }
    await this.#serveAsset(r.req, r.res, r.params['file'] ?? 'index.html');
  }

  /** The request carries the cookie of a live console session (it opens `GET /v1/events` only). */
  hasSession(req: IncomingMessage): boolean {
    return this.#session(req) !== undefined;
  }

  /** `GET /v1/events`: the token, or a session cookie sent by a page of this origin. */
  events(r: RouteRequest): void {
    // a cookie is sent only by a page of this origin (SameSite=Strict); refuse what a browser
    // marks as coming from elsewhere all the same
    const site = r.req.headers['sec-fetch-site'];
    if (!r.authorized && site !== undefined && site !== 'same-origin' && site !== 'none')
      throw new HttpError(403, 'forbidden', 'the event stream is for the console page');
    const view = this.#view(r.query);
    this.#openStream(r.res, r.query.get('q') ?? '', view);
  }

  /** `POST /v1/console/session`: trades the token (in the header) for a session cookie. */
  openSession(r: RouteRequest): void {
    const sid = this.#newSession();
    const maxAge = Math.round((this.#opts.sessionTtlMs ?? 12 * 3600_000) / 1000);
    r.res.setHeader(
      'set-cookie',
      `${SESSION_COOKIE}=${sid}; Path=/v1/; HttpOnly; SameSite=Strict; Max-Age=${maxAge}`,
    );
    sendJson(r.res, 200, { expires_in: maxAge });
  }

  /** `DELETE /v1/console/session`: ends the cookie's session. */
  closeSession(r: RouteRequest): void {
    const sid = cookieValue(r.req, SESSION_COOKIE);
    if (sid !== undefined) this.#sessions.delete(sid);
    r.res.setHeader(
      'set-cookie',
      `${SESSION_COOKIE}=; Path=/v1/; HttpOnly; SameSite=Strict; Max-Age=0`,
    );
    sendJson(r.res, 200, { ended: sid !== undefined });
  }

  /** `GET /v1/console/state`. */
  async state(r: RouteRequest): Promise<void> {
    const view = this.#view(r.query);
    sendJson(r.res, 200, await this.#state(r.query.get('q') ?? '', view));
  }

  /** `GET /v1/console/rates`. */
  rates(r: RouteRequest): void {
    sendJson(r.res, 200, this.#rates.snapshot());
  }

  /** `?view=` (default all); 400 for another value. */
  #view(q: URLSearchParams): ConsoleView {
    const v = q.get('view') ?? 'all';
    if ((CONSOLE_VIEWS as readonly string[]).includes(v)) return v as ConsoleView;
    throw new HttpError(
      400,
      'bad_request',
      `view: expected one of ${CONSOLE_VIEWS.join(', ')}, got '${v.slice(0, 40)}'`,
    );
  }

  #state(query: string, view: ConsoleView): Promise<ConsoleState> {
    return buildState(
      this.#opts.elements(),
      query.slice(0, 200),
      this.#opts.version,
      this.#decoder,
      this.#limits,
      this.#wallClock,
      view,
    );
  }

  #session(req: IncomingMessage): string | undefined {
    const sid = cookieValue(req, SESSION_COOKIE);
    if (sid === undefined) return undefined;
    const exp = this.#sessions.get(sid);
    if (exp === undefined) return undefined;
    if (exp <= Date.now()) {
      this.#sessions.delete(sid);
      return undefined;
    }
    return sid;
  }

  #newSession(): string {
    const now = Date.now();
    for (const [k, exp] of this.#sessions) if (exp <= now) this.#sessions.delete(k);
    // the oldest first (insertion order)
    while (this.#sessions.size >= MAX_SESSIONS) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest === undefined) break;
      this.#sessions.delete(oldest);
    }
    const sid = randomBytes(32).toString('base64url');
    this.#sessions.set(sid, now + (this.#opts.sessionTtlMs ?? 12 * 3600_000));
    return sid;
  }

  async #serveAsset(req: IncomingMessage, res: ServerResponse, name: string): Promise<void> {
    const file = name === '' ? 'index.html' : name;
    const ext = /\.[a-z]+$/.exec(file)?.[0] ?? '';
    // only plain file names of the built page: no directories, no dot files
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file) || TYPES[ext] === undefined) {
      sendJson(res, 404, { error: 'not_found', message: `no console file '${name}'` });
      return;
    }
    const asset = await this.#asset(file);
    if (asset === undefined) {
      const missing = file === 'index.html';
      sendJson(res, missing ? 503 : 404, {
        error: missing ? 'not_built' : 'not_found',
        message: missing
          ? `the console page is not built (no ${join(this.#assetsDir, 'index.html')}): run npm run build`
          : `no console file '${name}'`,
      });
      return;
    }
    const headers = {
      ...PAGE_HEADERS,
      'content-type': TYPES[ext] as string,
      etag: asset.etag,
      'cache-control': 'no-cache',
    };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, headers).end();
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  async #asset(file: string): Promise<Asset | undefined> {
    const p = join(this.#assetsDir, file);
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(p)).mtimeMs;
    } catch {
      return undefined;
    }
    const cached = this.#assets.get(file);
    if (cached !== undefined && cached.mtimeMs === mtimeMs) return cached;
    const body = await readFile(p);
    const asset = { mtimeMs, body, etag: `"${body.length.toString(16)}-${Math.round(mtimeMs)}"` };
    this.#assets.set(file, asset);
    return asset;
  }

  #openStream(res: ServerResponse, query: string, view: ConsoleView): void {
    if (this.#closed || this.#streams.size >= (this.#opts.maxStreams ?? 32)) {
      res.setHeader('retry-after', '5');
      sendJson(res, 503, {
        error: 'too_many_streams',
        message: `${this.#streams.size} console event streams are open already`,
      });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    const s: Stream = {
      res,
      query: query.slice(0, 200),
      view,
      last: undefined,
      lastWrite: Date.now(),
    };
    this.#streams.add(s);
    res.on('close', () => {
      this.#streams.delete(s);
      if (this.#streams.size === 0 && this.#pushTimer !== undefined) {
        clearInterval(this.#pushTimer);
        this.#pushTimer = undefined;
      }
    });
    // reconnect after 2 s when the connection drops; then the 15 minutes of rates at once
    this.#write(
      s,
      `retry: 2000\n\nevent: rates\ndata: ${JSON.stringify(this.#rates.snapshot())}\n\n`,
    );
    this.#pushTimer ??= setInterval(() => this.#push(), this.#opts.pushIntervalMs ?? 250);
    this.#pushTimer.unref();
    // the first state at once, not at the next tick
    this.#push();
  }

  #write(s: Stream, text: string): void {
    if (s.res.writableEnded || s.res.destroyed) return;
    if (s.res.writableLength > MAX_BUFFERED) {
      this.#log.warn({ buffered: s.res.writableLength }, 'console page too slow: stream dropped');
      s.res.destroy();
      return;
    }
    s.res.write(text);
    this.#cost.events++;
    this.#cost.bytes += text.length;
    s.lastWrite = Date.now();
  }

  /** Builds the state once per distinct search and sends it to the pages whose view changed. */
  /**
   * What says that a flow or a binding came or went: the number of flows and of bindings of each
   * element (cheap: no row is read). Such a change is pushed at the next tick; anything else (ages,
   * refreshed expiries, transactions, which under load come and go all the time) within
   * `refreshMs`.
   */
  async #signature(): Promise<string> {
    const parts: number[] = [];
    const seen = new Set<unknown>();
    for (const e of this.#opts.elements()) {
      parts.push(flowsOf(e).length);
      const loc = e.location;
      if (loc !== undefined && !seen.has(loc)) {
        seen.add(loc);
        parts.push(await loc.count().catch(() => -1));
      }
    }
    return parts.join(',');
  }

  /**
   * Builds the state once per distinct view and search and sends it to the pages whose view
   * changed: at once when a row came or went (the signature), else every `refreshMs`.
   */
  #push(): void {
    if (this.#pushing || this.#streams.size === 0) return;
    this.#pushing = true;
    const t0 = performance.now();
    const groups = new Map<string, Stream[]>();
    for (const s of this.#streams) {
      const k = `${s.view}\u0000${s.query}`;
      const list = groups.get(k);
      if (list === undefined) groups.set(k, [s]);
      else list.push(s);
    }
    for (const k of this.#built.keys()) if (!groups.has(k)) this.#built.delete(k);
    const run = async (): Promise<void> => {
      const sig = await this.#signature();
      const now = Date.now();
      const refresh = this.#opts.refreshMs ?? 1000;
      for (const [k, streams] of groups) {
        const b = this.#built.get(k);
        const fresh = streams.some((s) => s.last === undefined);
        if (!fresh && b !== undefined && b.sig === sig && now - b.at < refresh) {
          for (const s of streams)
            if (now - s.lastWrite >= HEARTBEAT_MS) this.#write(s, ': keep-alive\n\n');
          continue;
        }
        this.#built.set(k, { sig, at: now });
        const first = streams[0] as Stream;
        const state = await this.#state(first.query, first.view);
        this.#cost.states++;
        const { at, ...rest } = state;
        // compared without its timestamp; serialized once for every page of this group
        const body = JSON.stringify(rest);
        let event: string | undefined;
        for (const s of streams) {
          if (s.last !== body) {
            s.last = body;
            event ??= `event: state\ndata: {"at":${at},${body.slice(1)}\n\n`;
            this.#write(s, event);
          } else if (now - s.lastWrite >= HEARTBEAT_MS) this.#write(s, ': keep-alive\n\n');
        }
      }
    };
    run()
      .catch((e: unknown) => this.#log.error({ err: e }, 'console state failed'))
      .finally(() => {
        this.#pushing = false;
        this.#cost.ms += performance.now() - t0;
      });
  }

  #sampleRates(): void {
    this.#rates.sample(
      Date.now(),
      this.#opts.elements().map((e) => ({
        element: e.server.name,
        requests: total(e.server.core.stats.requests),
        replies: total(e.server.core.stats.replies),
      })),
    );
  }

  #onRateTick(): void {
    this.#sampleRates();
    if (this.#streams.size === 0) return;
    const t0 = performance.now();
    const totals = Object.fromEntries(
      this.#opts.elements().map((e) => [
        e.server.name,
        {
          requests: total(e.server.core.stats.requests),
          replies: total(e.server.core.stats.replies),
        },
      ]),
    );
    const point: ConsoleRatePoint = { ...this.#rates.latest(), totals };
    const text = `event: rate\ndata: ${JSON.stringify(point)}\n\n`;
    for (const s of this.#streams) this.#write(s, text);
    this.#cost.ms += performance.now() - t0;
  }
}
