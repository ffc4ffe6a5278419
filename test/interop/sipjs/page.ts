// The browser side of test/interop/sipjs-chromium.test.ts: bundled by esbuild with SIP.js 0.21 and
// JsSIP into one script that the test page loads (served by test/interop/jssip/driver.ts). SIP.js
// runs as `Web.SimpleUser` with its default options (only the AoR and a delegate are given: no
// outbound, no reg-id, no instance id), so it registers a Contact `sip:xxxx@yyyy.invalid;transport=ws`.
// JsSIP, with its defaults, registers with RFC 5626 outbound (reg-id=1, +sip.instance): the
// outbound peer of the calls between the two kinds. Every user agent records what it sees; the
// test asserts on those events. Not a test file; never imported by Node.
import * as JsSIP from 'jssip';
import type { RTCSession } from 'jssip/lib/RTCSession.js';
import type { RTCSessionEvent } from 'jssip/lib/UA.js';
import { version as sipJsVersion, Web } from 'sip.js';

/** One event a user agent or one of its calls emitted. */
export interface UaEvent {
  readonly ua: string;
  readonly event: string;
  readonly status?: number;
  readonly detail?: string;
  readonly t: number;
}

/** What the Node side asks the page to do (one method per driver command). */
export interface SipJsPageApi {
  /** SIP.js's version (from the bundle). */
  version(): string;
  /** A SIP.js SimpleUser with default options: connects and registers; resolves with the outcome. */
  registerSipJs(a: {
    name: string;
    aor: string;
    server: string;
    timeoutMs: number;
  }): Promise<UaEvent>;
  /** A JsSIP UA with default options (RFC 5626 outbound): registers; resolves with the outcome. */
  registerJsSip(a: {
    name: string;
    aor: string;
    server: string;
    timeoutMs: number;
  }): Promise<UaEvent>;
  /** `from` calls `uri`; `to` answers by itself. Resolves once both sides are established (or one failed). */
  call(a: { from: string; to: string; uri: string; timeoutMs: number }): Promise<UaEvent[]>;
  /** `name` hangs up (BYE); resolves once both sides have ended. */
  hangup(a: { name: string; other: string; timeoutMs: number }): Promise<UaEvent[]>;
  /** Unregisters and disconnects every user agent. */
  stopAll(a: { timeoutMs: number }): Promise<UaEvent[]>;
  events(): UaEvent[];
}

const started = Date.now();
const log: UaEvent[] = [];

function record(
  ua: string,
  event: string,
  extra: { status?: number; detail?: string } = {},
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

/** A user agent of either library, as the API drives it. */
interface Peer {
  call(uri: string): void;
  hangup(): void;
  stop(): Promise<void>;
}

const peers = new Map<string, Peer>();

function peer(name: string): Peer {
  const p = peers.get(name);
  if (p === undefined) throw new Error(`no user agent ${name}`);
  return p;
}

function sipJsPeer(name: string, aor: string, server: string): Web.SimpleUser {
  // SIP.js defaults: only the AoR and a delegate (events); media: audio only, the default
  const user: Web.SimpleUser = new Web.SimpleUser(server, {
    aor,
    delegate: {
      onServerConnect: () => record(name, 'connected'),
      onServerDisconnect: (e) =>
        record(name, 'disconnected', e === undefined ? {} : { detail: e.message }),
      onRegistered: () => record(name, 'registered'),
      onUnregistered: () => record(name, 'unregistered'),
      onCallReceived: () => {
        record(name, 'incoming');
        user.answer().catch((e: unknown) => record(name, 'answer-failed', { detail: String(e) }));
      },
      onCallAnswered: () => record(name, 'established'),
      onCallHangup: () => record(name, 'ended'),
    },
  });
  peers.set(name, {
    call(uri) {
      user
        .call(uri, undefined, {
          requestDelegate: {
            onReject: (r) => record(name, 'rejected', { status: r.message.statusCode ?? 0 }),
          },
        })
        .catch((e: unknown) => record(name, 'call-failed', { detail: String(e) }));
    },
    hangup() {
      user.hangup().catch((e: unknown) => record(name, 'hangup-failed', { detail: String(e) }));
    },
    async stop() {
      await user.unregister().catch(() => undefined);
      await user.disconnect().catch(() => undefined);
    },
  });
  return user;
}

function jsSipPeer(name: string, aor: string, server: string): JsSIP.UA {
  const audioOnly = { mediaConstraints: { audio: true, video: false } };
  const ua = new JsSIP.UA({
    sockets: [new JsSIP.WebSocketInterface(server)],
    uri: aor,
    register: true,
    session_timers: false,
    user_agent: `JsSIP ${JsSIP.version} (flowgate interop, ${name})`,
  });
  let session: RTCSession | undefined;
  const track = (s: RTCSession): void => {
    session = s;
    s.on('confirmed', () => record(name, 'established'));
    s.on('failed', (e) => {
      const status = (e as { message?: { status_code?: number } }).message?.status_code;
      record(name, 'rejected', {
        ...(status === undefined ? {} : { status }),
        detail: String(e.cause),
      });
    });
    s.on('ended', (e) => record(name, 'ended', { detail: String(e.cause) }));
  };
  ua.on('connected', () => record(name, 'connected'));
  ua.on('disconnected', () => record(name, 'disconnected'));
  ua.on('registered', () => record(name, 'registered'));
  ua.on('unregistered', () => record(name, 'unregistered'));
  ua.on('registrationFailed', (e) => {
    const status = e.response?.status_code;
    record(name, 'registrationFailed', {
      ...(status === undefined ? {} : { status }),
      detail: String(e.cause),
    });
  });
  ua.on('newRTCSession', (e: RTCSessionEvent) => {
    track(e.session);
    if (e.originator === 'remote') {
      record(name, 'incoming');
      e.session.answer(audioOnly);
    }
  });
  peers.set(name, {
    call(uri) {
      ua.call(uri, audioOnly);
    },
    hangup() {
      session?.terminate();
    },
    async stop() {
      const mark = log.length;
      ua.stop();
      await next(name, mark, (e) => e.event === 'disconnected', 3000, 'stop').catch(
        () => undefined,
      );
    },
  });
  return ua;
}

const api: SipJsPageApi = {
  version() {
    return sipJsVersion;
  },

  async registerSipJs({ name, aor, server, timeoutMs }) {
    const from = log.length;
    const user = sipJsPeer(name, aor, server);
    await user.connect();
    await user.register({
      requestDelegate: {
        onAccept: (r) => record(name, 'register-accepted', { status: r.message.statusCode ?? 0 }),
        onReject: (r) =>
          record(name, 'registrationFailed', {
            status: r.message.statusCode ?? 0,
            detail: r.message.reasonPhrase ?? '',
          }),
      },
    });
    return next(
      name,
      from,
      (e) => e.event === 'registered' || e.event === 'registrationFailed',
      timeoutMs,
      'registration outcome',
    );
  },

  registerJsSip({ name, aor, server, timeoutMs }) {
    const from = log.length;
    jsSipPeer(name, aor, server).start();
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
    peer(from).call(uri);
    const done = (e: UaEvent): boolean =>
      e.event === 'established' || e.event === 'rejected' || e.event === 'call-failed';
    const first = await next(from, mark, done, timeoutMs, 'call outcome');
    if (first.event === 'established') await next(to, mark, done, timeoutMs, 'call outcome');
    return log.slice(mark);
  },

  async hangup({ name, other, timeoutMs }) {
    const mark = log.length;
    peer(name).hangup();
    for (const n of [name, other])
      await next(n, mark, (e) => e.event === 'ended', timeoutMs, 'the call to end');
    return log.slice(mark);
  },

  async stopAll({ timeoutMs }) {
    const mark = log.length;
    const all = Promise.all([...peers.values()].map((p) => p.stop()));
    await Promise.race([all, new Promise((r) => setTimeout(r, timeoutMs))]);
    return log.slice(mark);
  },

  events() {
    return log;
  },
};

(globalThis as unknown as { flowgate: SipJsPageApi }).flowgate = api;
