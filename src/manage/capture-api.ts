// `/v1/capture` and `/v1/trace`: HEP capture switched per element at run time (Kamailio
// `siptrace.status on|off`), and the live trace `flowgate ctl trace` reads (a stream of the SIP
// messages the elements receive and send, filtered by AoR or Call-ID).
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type CapturedMessage,
  type MessageTap,
  type SipTrace,
  TraceSession,
  traceEventJson,
} from '../modules/siptrace/index.js';
import type { Logger } from '../util/logger.js';
import { HttpError, readJsonObject, sendJson } from './http.js';
import { elementNamed } from './select.js';
import type { ManagedElement, ManagedServer } from './view.js';

/** The parts of a running element capture and trace use (`FlowgateServer` has them). */
interface CaptureView {
  readonly tap?: MessageTap | undefined;
  readonly siptrace?: SipTrace | undefined;
}

function viewOf(e: ManagedElement): ManagedServer & CaptureView {
  return e.server as ManagedServer & CaptureView;
}

/** Live traces open at once (each costs a scan of every message it filters). */
export const MAX_TRACE_STREAMS = 8;
/** A trace client that does not read: messages are dropped (and counted) beyond this backlog. */
const MAX_BACKLOG_BYTES = 1024 * 1024;
/** Seconds between keep-alive lines on an idle trace (proxies close silent connections). */
const KEEPALIVE_MS = 15_000;
const MAX_BODY_BYTES = 1024;

/**
 * The capture and trace routes of one management server:
 * - `GET /v1/capture[?element=]`: per element, whether siptrace is loaded, on, where it sends,
 *   and its counters;
 * - `PUT /v1/capture` `{ "enabled": true|false, "element"?: name }`: switches capture of every
 *   element that loads siptrace, or of one;
 * - `GET /v1/trace[?element=&aor=&call_id=]`: the live trace, one JSON object per line
 *   (`application/x-ndjson`) or Server-Sent Events when the client accepts `text/event-stream`.
 *   The first line is `{"type":"start",…}`; then `{"type":"message",…}` per message, `{"type":
 *   "dropped","count":n}` after messages a slow client missed, `{"type":"keepalive"}` when idle.
 */
export class CaptureApi {
  readonly #elements: () => readonly ManagedElement[];
  readonly #log: Logger;
  readonly #streams = new Set<() => void>();

  constructor(elements: () => readonly ManagedElement[], log: Logger) {
    this.#elements = elements;
    this.#log = log;
  }

  /** Live traces open now. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Handles the request when it is one of these routes (true), else leaves it (false). */
  async handle(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    q: URLSearchParams,
  ): Promise<boolean> {
    if (path !== '/v1/capture' && path !== '/v1/trace') return false;
    const method = req.method ?? 'GET';
    try {
      if (path === '/v1/trace') {
        this.#allow(res, method, path, ['GET']);
        this.#trace(req, res, q);
        return true;
      }
      this.#allow(res, method, path, ['GET', 'PUT']);
      if (method === 'PUT') await this.#switch(await readJsonObject(req, MAX_BODY_BYTES));
      else {
        const name = q.get('element');
        if (name !== null && name !== '') this.#named(name);
      }
      sendJson(res, 200, this.#status(q.get('element') ?? undefined));
    } catch (e) {
      if (!(e instanceof HttpError)) throw e;
      sendJson(res, e.httpStatus, { error: e.error, message: e.message });
    }
    return true;
  }

  /** Ends every live trace (the management server closes). */
  close(): void {
    for (const end of [...this.#streams]) end();
  }

  #allow(res: ServerResponse, method: string, path: string, methods: readonly string[]): void {
    if (methods.includes(method) || (method === 'HEAD' && methods.includes('GET'))) return;
    res.setHeader('allow', methods.join(', '));
    throw new HttpError(
      405,
      'method_not_allowed',
      `${method} ${path}: use ${methods.join(' or ')}`,
    );
  }

  #named(name: string): ManagedElement {
    return elementNamed(this.#elements(), name);
  }

  #status(element: string | undefined): unknown {
    const list =
      element === undefined || element === '' ? this.#elements() : [this.#named(element)];
    return {
      elements: list.map((e) => {
        const st = viewOf(e).siptrace;
        return st === undefined
          ? { element: e.server.name, loaded: false, enabled: false }
          : { element: e.server.name, loaded: true, ...st.status() };
      }),
      trace_streams: this.#streams.size,
    };
  }

  async #switch(body: Record<string, unknown>): Promise<void> {
    for (const k of Object.keys(body))
      if (k !== 'enabled' && k !== 'element')
        throw new HttpError(400, 'bad_request', `unknown field '${k}' (expected enabled, element)`);
    const enabled = body['enabled'];
    if (typeof enabled !== 'boolean')
      throw new HttpError(400, 'bad_request', 'enabled: expected true or false');
    const element = body['element'];
    if (element !== undefined && typeof element !== 'string')
      throw new HttpError(400, 'bad_request', 'element: expected a string');
    const targets =
      element === undefined
        ? this.#elements().filter((e) => viewOf(e).siptrace !== undefined)
        : [this.#named(element)];
    if (targets.length === 0 || targets.some((e) => viewOf(e).siptrace === undefined))
      throw new HttpError(
        404,
        'not_configured',
        element === undefined
          ? 'no element loads siptrace: add modules.siptrace with duplicate_uri (the HEP collector) to an element'
          : `element '${element}' does not load siptrace: add modules.siptrace with duplicate_uri (the HEP collector)`,
      );
    for (const e of targets) {
      const st = viewOf(e).siptrace as SipTrace;
      await st.setEnabled(enabled);
      const s = st.status();
      if (enabled && !s.enabled)
        throw new HttpError(
          502,
          'collector_unreachable',
          `element '${e.server.name}': cannot open the collector ${s.collector}: ${s.error ?? 'unknown error'}`,
        );
    }
    this.#log.info(
      { capture: enabled, elements: targets.map((e) => e.server.name) },
      'capture switched through the management API',
    );
  }

  #trace(req: IncomingMessage, res: ServerResponse, q: URLSearchParams): void {
    const name = q.get('element');
    const chosen = name === null || name === '' ? this.#elements() : [this.#named(name)];
    const taps = chosen.flatMap((e) => {
      const t = viewOf(e).tap;
      return t === undefined ? [] : [t];
    });
    if (taps.length === 0)
      throw new HttpError(501, 'not_implemented', 'the elements here cannot be traced');
    if (this.#streams.size >= MAX_TRACE_STREAMS)
      throw new HttpError(
        503,
        'busy',
        `${MAX_TRACE_STREAMS} live traces are open already; close one (each one scans every message)`,
      );
    const aor = q.get('aor') ?? undefined;
    const callId = q.get('call_id') ?? undefined;
    const session = new TraceSession({ aor, callId });
    const sse = /\btext\/event-stream\b/i.test(req.headers.accept ?? '');
    res.writeHead(200, {
      'content-type': sse
        ? 'text/event-stream; charset=utf-8'
        : 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
    });
    const write = (obj: unknown, event: string): void => {
      const json = JSON.stringify(obj);
      res.write(sse ? `event: ${event}\ndata: ${json}\n\n` : `${json}\n`);
    };
    write(
      {
        type: 'start',
        elements: taps.map((t) => t.element),
        filter: { aor: aor ?? null, call_id: callId ?? null },
      },
      'start',
    );
    let dropped = 0;
    let quietSince = Date.now();
    const sink = (m: CapturedMessage): void => {
      if (!session.accepts(m)) return;
      if (res.writableLength > MAX_BACKLOG_BYTES) {
        dropped++;
        return;
      }
      if (dropped > 0) {
        write({ type: 'dropped', count: dropped }, 'dropped');
        dropped = 0;
      }
      write(traceEventJson(m), 'message');
      quietSince = Date.now();
    };
    const removers = taps.map((t) => t.add(sink));
    const timer = setInterval(() => {
      if (Date.now() - quietSince < KEEPALIVE_MS) return;
      quietSince = Date.now();
      if (sse) res.write(': keepalive\n\n');
      else write({ type: 'keepalive' }, 'keepalive');
    }, KEEPALIVE_MS / 3);
    timer.unref();
    const end = (): void => {
      if (!this.#streams.delete(end)) return;
      clearInterval(timer);
      for (const r of removers) r();
      if (!res.writableEnded) res.end();
      this.#log.info(
        { elements: taps.map((t) => t.element) },
        'live trace closed (management API)',
      );
    };
    this.#streams.add(end);
    res.on('close', end);
    this.#log.info(
      { elements: taps.map((t) => t.element), aor: aor ?? null, call_id: callId ?? null },
      'live trace opened (management API)',
    );
  }
}
