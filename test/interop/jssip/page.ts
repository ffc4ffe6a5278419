// The browser side of test/interop/jssip-chromium.test.ts: bundled with JsSIP by esbuild into one
// script that the test page loads. It drives real JsSIP user agents in Chromium and records what
// each one sees, so the test asserts on JsSIP's own events (registered, confirmed, ended, ...).
// Not a test file; never imported by Node.
import * as JsSIP from 'jssip';
import type { RTCSession } from 'jssip/lib/RTCSession.js';
import type { RTCSessionEvent } from 'jssip/lib/UA.js';

/** One event a UA or one of its sessions emitted. */
export interface UaEvent {
  readonly ua: string;
  readonly event: string;
  readonly status?: number;
  readonly cause?: string;
  readonly t: number;
}

/** What the Node side asks the page to do (see driver.ts). */
export interface PageApi {
  register(a: {
    name: string;
    user: string;
    password: string;
    ws: string;
    timeoutMs: number;
  }): Promise<UaEvent>;
  call(a: { from: string; to: string; uri: string; timeoutMs: number }): Promise<UaEvent[]>;
  media(a: { names: string[] }): Promise<Record<string, { sent: number; received: number }>>;
  hangup(a: { name: string; timeoutMs: number }): Promise<UaEvent[]>;
  stop(a: { name: string; timeoutMs: number }): Promise<UaEvent>;
  events(): UaEvent[];
}

interface StatsRow {
  readonly type: string;
  readonly kind?: string;
  readonly bytesSent?: number;
  readonly bytesReceived?: number;
}

const started = Date.now();
const uas = new Map<string, JsSIP.UA>();
const sessions = new Map<string, RTCSession>();
const log: UaEvent[] = [];
const audioOnly = { mediaConstraints: { audio: true, video: false } };

function record(
  ua: string,
  event: string,
  extra: { status?: number; cause?: string } = {},
): UaEvent {
  const e: UaEvent = { ua, event, ...extra, t: Date.now() - started };
  log.push(e);
  return e;
}

/** Resolves with the first recorded event of `ua` (after index `from`) that `match` accepts. */
function next(
  ua: string,
  from: number,
  match: (e: UaEvent) => boolean,
  timeoutMs: number,
  what: string,
): Promise<UaEvent> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const tick = (): void => {
      const e = log.slice(from).find((x) => x.ua === ua && match(x));
      if (e !== undefined) resolve(e);
      else if (Date.now() - t0 > timeoutMs)
        reject(new Error(`${ua}: no ${what} in ${timeoutMs} ms; events: ${JSON.stringify(log)}`));
      else setTimeout(tick, 10);
    };
    tick();
  });
}

function track(name: string, s: RTCSession): void {
  sessions.set(name, s);
  for (const ev of ['progress', 'accepted', 'confirmed'] as const)
    s.on(ev, () => record(name, `session:${ev}`));
  s.on('failed', (e) => record(name, 'session:failed', { cause: String(e.cause) }));
  s.on('ended', (e) => record(name, 'session:ended', { cause: String(e.cause) }));
}

function ua(name: string): JsSIP.UA {
  const u = uas.get(name);
  if (u === undefined) throw new Error(`no UA ${name}`);
  return u;
}

function session(name: string): RTCSession {
  const s = sessions.get(name);
  if (s === undefined) throw new Error(`${name} has no session`);
  return s;
}

const api: PageApi = {
  register({ name, user, password, ws, timeoutMs }) {
    const from = log.length;
    const u = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(ws)],
      uri: `sip:${user}`,
      password,
      register: true,
      session_timers: false,
      user_agent: `JsSIP ${JsSIP.version} (flowgate interop, ${name})`,
    });
    uas.set(name, u);
    u.on('connected', () => record(name, 'connected'));
    u.on('disconnected', () => record(name, 'disconnected'));
    u.on('registered', (e) => record(name, 'registered', { status: e.response.status_code }));
    u.on('unregistered', () => record(name, 'unregistered'));
    u.on('registrationFailed', (e) => {
      const status = e.response?.status_code;
      record(name, 'registrationFailed', {
        ...(status === undefined ? {} : { status }),
        cause: String(e.cause),
      });
    });
    u.on('newRTCSession', (e: RTCSessionEvent) => {
      track(name, e.session);
      if (e.originator === 'remote') {
        record(name, 'incoming', { cause: e.request.from.uri.toString() });
        e.session.answer(audioOnly);
      }
    });
    u.start();
    return next(
      name,
      from,
      (e) => e.event === 'registered' || e.event === 'registrationFailed',
      timeoutMs,
      'registration outcome',
    );
  },

  async call({ from, to, uri, timeoutMs }) {
    const mark = log.length;
    ua(from).call(uri, audioOnly);
    await next(
      from,
      mark,
      (e) => e.event === 'session:confirmed' || e.event === 'session:failed',
      timeoutMs,
      'call outcome',
    );
    await next(
      to,
      mark,
      (e) => e.event === 'session:confirmed' || e.event === 'session:failed',
      timeoutMs,
      'call outcome',
    );
    return log.slice(mark);
  },

  async media({ names }) {
    const out: Record<string, { sent: number; received: number }> = {};
    for (const name of names) {
      let sent = 0;
      let received = 0;
      // RTCPeerConnection (the DOM types are not in this project's lib)
      const pc = session(name).connection as unknown as {
        getStats(): Promise<ReadonlyMap<string, StatsRow>>;
      };
      for (const r of (await pc.getStats()).values()) {
        if (r.type === 'outbound-rtp' && r.kind === 'audio') sent += r.bytesSent ?? 0;
        if (r.type === 'inbound-rtp' && r.kind === 'audio') received += r.bytesReceived ?? 0;
      }
      out[name] = { sent, received };
    }
    return out;
  },

  async hangup({ name, timeoutMs }) {
    const mark = log.length;
    session(name).terminate();
    for (const n of sessions.keys())
      await next(n, mark, (e) => e.event === 'session:ended', timeoutMs, 'the call to end');
    return log.slice(mark);
  },

  stop({ name, timeoutMs }) {
    const mark = log.length;
    const u = ua(name);
    u.stop();
    return next(name, mark, (e) => e.event === 'disconnected', timeoutMs, 'the UA to stop');
  },

  events() {
    return log;
  },
};

JsSIP.debug.enable('JsSIP:Transport JsSIP:RTCSession JsSIP:Registrator JsSIP:DigestAuthentication');
(globalThis as unknown as { flowgate: PageApi }).flowgate = api;
