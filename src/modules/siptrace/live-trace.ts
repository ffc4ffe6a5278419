import type { SipMessage, SipRequest } from '../../message/message.js';
import type { Uri } from '../../message/parse/uri.js';
import { scanMessage } from '../../message/scanner.js';
import { hostPort } from '../../transport/ip.js';
import { callIdOf, startLine } from './sip-text.js';
import type { CapturedMessage } from './tap.js';

/** What a live trace shows: messages of one AoR, of one call, or everything. */
export interface TraceFilter {
  /**
   * `alice` (any domain), `alice@example.com` or `sip:alice@example.com`: messages whose From,
   * To or request URI is that user (and every other message of a call that matched).
   */
  readonly aor?: string | undefined;
  /** Only this Call-ID. */
  readonly callId?: string | undefined;
}

/** One message of the live trace as `GET /v1/trace` streams it (a JSON line). */
export interface TraceEventJson {
  readonly type: 'message';
  /** ISO time with microseconds. */
  readonly time: string;
  readonly ts_us: number;
  readonly element: string;
  readonly direction: 'in' | 'out';
  readonly transport: string;
  /** `ip:port` (IPv6 in brackets). */
  readonly src: string;
  readonly dst: string;
  readonly call_id: string | null;
  /** The request line or status line. */
  readonly first_line: string;
  readonly bytes: number;
  /** The whole message as text (UTF-8; a binary body shows as replacement characters). */
  readonly message: string;
}

/** Calls a trace follows after they matched its AoR (the oldest are forgotten beyond this). */
const FOLLOWED_CALLS = 4096;

interface AorPattern {
  readonly user: string;
  /** Lower case; undefined: any domain. */
  readonly host: string | undefined;
}

function parseAorPattern(s: string): AorPattern {
  const t = s.trim().replace(/^sips?:/i, '');
  const at = t.lastIndexOf('@');
  if (at < 0) return { user: t, host: undefined };
  return {
    user: t.slice(0, at),
    host: t
      .slice(at + 1)
      .replace(/[:;].*$/, '')
      .toLowerCase(),
  };
}

function uriIs(u: Uri | undefined, p: AorPattern): boolean {
  if (u === undefined || !('user' in u)) return false;
  const user = u.unescapedUser ?? u.user;
  if (user === undefined || user !== p.user) return false;
  return p.host === undefined || u.hostname === p.host;
}

/** The time of a capture as ISO text with microseconds. */
export function isoMicros(us: number): string {
  const ms = Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // …T12:00:00.123Z
  return `${iso.slice(0, -1)}${String(us % 1000).padStart(3, '0')}Z`;
}

/**
 * One live-trace subscription's filter. Matching by AoR reads From, To and the request URI (the
 * message is scanned when it was sent, not received); once a message matched, the rest of its
 * call (its Call-ID) is shown too, whatever its headers say.
 */
export class TraceSession {
  readonly #aor: AorPattern | undefined;
  readonly #callId: string | undefined;
  readonly #calls = new Set<string>();

  constructor(filter: TraceFilter) {
    const aor = filter.aor?.trim();
    this.#aor = aor === undefined || aor === '' ? undefined : parseAorPattern(aor);
    const c = filter.callId?.trim();
    this.#callId = c === undefined || c === '' ? undefined : c;
  }

  /** The message passes the filter. */
  accepts(m: CapturedMessage): boolean {
    if (this.#aor === undefined && this.#callId === undefined) return true;
    const msg = m.msg ?? scanMessage(m.bytes).msg;
    const callId = msg?.callId ?? callIdOf(m.bytes);
    if (this.#callId !== undefined && callId !== this.#callId) return false;
    if (this.#aor === undefined) return true;
    if (callId !== undefined && this.#calls.has(callId)) return true;
    if (msg === undefined || !this.#matchesAor(msg, this.#aor)) return false;
    if (callId !== undefined) {
      if (this.#calls.size >= FOLLOWED_CALLS) {
        const oldest = this.#calls.values().next().value;
        if (oldest !== undefined) this.#calls.delete(oldest);
      }
      this.#calls.add(callId);
    }
    return true;
  }

  #matchesAor(msg: SipMessage, p: AorPattern): boolean {
    if (uriIs(msg.from?.uri, p) || uriIs(msg.to?.uri, p)) return true;
    return msg.isRequest && uriIs((msg as SipRequest).ruri, p);
  }
}

/** A captured message as the live trace sends it. */
export function traceEventJson(m: CapturedMessage): TraceEventJson {
  const callId = m.msg?.callId ?? callIdOf(m.bytes) ?? null;
  return {
    type: 'message',
    time: isoMicros(m.timeUs),
    ts_us: m.timeUs,
    element: m.element,
    direction: m.direction,
    transport: m.proto,
    src: hostPort(m.src.address, m.src.port),
    dst: hostPort(m.dst.address, m.dst.port),
    call_id: callId,
    first_line: startLine(m.bytes),
    bytes: m.bytes.length,
    message: m.bytes.toString('utf8'),
  };
}
