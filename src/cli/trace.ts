// `flowgate ctl trace`: the live SIP messages of a running instance in the terminal, filtered by
// AoR or Call-ID, as they flow (a small sngrep for one server). Reads the management API's
// `GET /v1/trace` stream (one JSON object per line).
import type { CtlTarget } from './ctl.js';

/** What `ctl trace` was asked for. */
export interface TraceArgs {
  readonly element?: string | undefined;
  readonly aor?: string | undefined;
  readonly callId?: string | undefined;
  /** Stop after this many messages (undefined: until Ctrl-C or the server goes). */
  readonly count?: number | undefined;
  /** Print the API's JSON lines as they come. */
  readonly json: boolean;
}

/** Where `ctl trace` writes, and the signal that ends it (Ctrl-C). */
export interface TraceIo {
  out(s: string): void;
  err(s: string): void;
  readonly signal?: AbortSignal | undefined;
}

type Json = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '-' : String(v));

/** One message as the terminal shows it: a rule with when, where and which way, then the text. */
export function formatTraceMessage(m: Json): string {
  const dir = m['direction'] === 'in' ? 'IN ' : 'OUT';
  const head = `── ${str(m['time'])}  ${str(m['element'])}  ${dir} ${str(m['transport']).toUpperCase()}  ${str(m['src'])} → ${str(m['dst'])}  (${str(m['bytes'])} bytes)`;
  const text = str(m['message']).replace(/\r\n/g, '\n').replace(/\n+$/, '');
  return `${head}\n${text}\n\n`;
}

/**
 * Streams the live trace until `count` messages were shown, the signal fires (exit 0), or the
 * server ends the stream or cannot be reached (exit 1).
 */
export async function runTrace(t: CtlTarget, a: TraceArgs, io: TraceIo): Promise<number> {
  const p = new URLSearchParams();
  if (a.element !== undefined) p.set('element', a.element);
  if (a.aor !== undefined) p.set('aor', a.aor);
  if (a.callId !== undefined) p.set('call_id', a.callId);
  const qs = p.toString();
  const url = `${t.url.replace(/\/+$/, '')}/v1/trace${qs === '' ? '' : `?${qs}`}`;
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  io.signal?.addEventListener('abort', stop, { once: true });
  const headers: Record<string, string> = { accept: 'application/x-ndjson' };
  if (t.token !== undefined) headers['authorization'] = `Bearer ${t.token}`;
  let res: Response;
  try {
    res = await fetch(url, { headers, signal: ac.signal });
  } catch (e) {
    io.signal?.removeEventListener('abort', stop);
    if (ac.signal.aborted) return 0;
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message;
    io.err(
      `flowgate ctl: cannot reach flowgate at ${t.url}${cause === undefined ? '' : ` (${cause})`}: is it running, and is --url right?\n`,
    );
    return 1;
  }
  if (!res.ok || res.body === null) {
    io.signal?.removeEventListener('abort', stop);
    const text = await res.text().catch(() => '');
    let msg = `HTTP ${res.status}`;
    try {
      const b = JSON.parse(text) as Json;
      if (typeof b['message'] === 'string') msg = b['message'];
    } catch {
      // not JSON
    }
    if (res.status === 401 && t.token === undefined && t.tokenHint !== undefined)
      msg += ` (${t.tokenHint})`;
    io.err(`flowgate ctl: ${msg}\n`);
    return 1;
  }
  let shown = 0;
  let pending = '';
  const decoder = new TextDecoder();
  const onLine = (line: string): boolean => {
    if (line.trim() === '') return true;
    let m: Json;
    try {
      m = JSON.parse(line) as Json;
    } catch {
      return true;
    }
    switch (m['type']) {
      case 'start': {
        const f = (m['filter'] ?? {}) as Json;
        const what = [
          f['aor'] != null ? `aor ${str(f['aor'])}` : '',
          f['call_id'] != null ? `call-id ${str(f['call_id'])}` : '',
        ]
          .filter((x) => x !== '')
          .join(', ');
        const els = Array.isArray(m['elements']) ? m['elements'].join(', ') : '-';
        io.err(`tracing ${els}${what === '' ? '' : ` (${what})`}; Ctrl-C to stop\n`);
        if (a.json) io.out(`${line}\n`);
        return true;
      }
      case 'message':
        io.out(a.json ? `${line}\n` : formatTraceMessage(m));
        shown++;
        return a.count === undefined || shown < a.count;
      case 'dropped':
        io.err(`(${str(m['count'])} messages not shown: this terminal did not keep up)\n`);
        return true;
      default:
        return true;
    }
  };
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      pending += decoder.decode(value, { stream: true });
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (!onLine(line)) {
          ac.abort();
          return 0;
        }
        nl = pending.indexOf('\n');
      }
    }
  } catch {
    if (ac.signal.aborted) return 0;
    io.err('flowgate ctl: the trace stream broke off\n');
    return 1;
  } finally {
    io.signal?.removeEventListener('abort', stop);
  }
  if (ac.signal.aborted) return 0;
  io.err('flowgate ctl: the server ended the trace (stopping?)\n');
  return 1;
}
