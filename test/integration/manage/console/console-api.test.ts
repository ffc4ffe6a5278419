// The web console's server side (issue 13 §2, docs/console.md), in process on loopback: who may
// open the event stream (token, session cookie, Host), the page's files, and what the pushed state
// says about a real UA: its binding and flow appear within a second, with the Path's flow token
// decoded, and go when the flow is closed or the binding removed through the API.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, startInstance } from '../../../../src/cli/instance.js';
import { parseConfig } from '../../../../src/config/load.js';
import type {
  ConsoleRatePoint,
  ConsoleRates,
  ConsoleState,
} from '../../../../src/manage/console/index.js';
import {
  type ManagementServer,
  StoreMetrics,
  startManagementServer,
} from '../../../../src/manage/index.js';
import { noopLogger } from '../../../../src/util/logger.js';
import { WAIT_MS, waitFor } from '../../../support/net.js';
import { openSse, type SseStream } from '../../../support/sse-client.js';
import { TestCaller, TestUa } from '../../../support/ua.js';

const TOKEN = 'console-test-token-0123456789';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The newest `state` event of a stream. */
function lastState(s: SseStream): ConsoleState | undefined {
  const e = s.events.filter((x) => x.event === 'state').at(-1);
  return e === undefined ? undefined : (JSON.parse(e.data) as ConsoleState);
}

/** Waits until a pushed state satisfies `cond`; returns it and when it arrived. */
async function pushed(
  s: SseStream,
  cond: (st: ConsoleState) => boolean,
  label: string,
  timeoutMs = WAIT_MS,
): Promise<ConsoleState> {
  let found: ConsoleState | undefined;
  await waitFor(
    () => {
      const st = lastState(s);
      if (st !== undefined && cond(st)) found = st;
      return found !== undefined;
    },
    timeoutMs,
    label,
  );
  return found as ConsoleState;
}

describe('web console: the page and who may open the event stream', () => {
  let api: ManagementServer;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'assets', 'index.html'), '<!doctype html><title>console</title>\n');
    writeFileSync(join(dir, 'assets', 'console.js'), 'export {};\n');
    api = await startManagementServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      elements: () => [],
      storeMetrics: new StoreMetrics(),
      info: { version: '9.9.9', startedAt: Date.now() },
      logger: noopLogger,
      console: { assetsDir: join(dir, 'assets') },
    });
  });

  after(async () => {
    await api?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    fetch(`${api.url}${path}`, {
      method,
      headers,
      redirect: 'manual',
      signal: AbortSignal.timeout(WAIT_MS),
    });

  test('the page needs no token; it may load nothing from elsewhere and cannot be framed', async () => {
    const r = await get('/console/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /connect-src 'self'/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(await r.text(), /<title>console/);
    const js = await get('/console/console.js');
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /^text\/javascript/);
    const etag = js.headers.get('etag') ?? '';
    assert.equal((await get('/console/console.js', { 'if-none-match': etag })).status, 304);
    assert.equal((await get('/console/missing.js')).status, 404);
    assert.equal((await get('/console/.env')).status, 404);
    assert.equal((await get('/console/', {}, 'POST')).status, 405);
  });

  test('a browser at / or /console lands on /console/; with a token / is still the API', async () => {
    const root = await get('/');
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/console/');
    const bare = await get('/console');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/console/');
    assert.equal((await get('/', auth)).status, 404);
  });

  test('GET /v1/events: no token 401, a wrong token 401, a made-up cookie 401', async () => {
    const none = await openSse(`${api.url}/v1/events`);
    assert.equal(none.status, 401);
    assert.match(none.body, /unauthorized/);
    const wrong = await openSse(`${api.url}/v1/events`, { authorization: 'Bearer nope-nope-nope' });
    assert.equal(wrong.status, 401);
    const cookie = await openSse(`${api.url}/v1/events`, {
      cookie: 'flowgate_console=made-up-session',
    });
    assert.equal(cookie.status, 401);
    // the state and rate routes are the token's too
    assert.equal((await get('/v1/console/state')).status, 401);
    assert.equal((await get('/v1/console/session', {}, 'POST')).status, 401);
  });

  test('a wrong Host is refused (421) before the token is looked at: DNS rebinding', async () => {
    const port = new URL(api.url).port;
    const s = await openSse(`${api.url}/v1/events`, { ...auth, host: `evil.example:${port}` });
    assert.equal(s.status, 421);
    const page = await openSse(`${api.url}/console/`, { host: `evil.example:${port}` });
    assert.equal(page.status, 421);
  });

  test('the token opens the stream directly (curl), and trades for a cookie that opens it (the page)', async () => {
    const direct = await openSse(`${api.url}/v1/events`, auth);
    assert.equal(direct.status, 200);
    assert.match(String(direct.headers['content-type']), /^text\/event-stream/);
    await waitFor(() => direct.events.some((e) => e.event === 'state'), WAIT_MS, 'a state');
    assert.ok(direct.events.some((e) => e.event === 'rates'));
    direct.close();

    const login = await get('/v1/console/session', auth, 'POST');
    assert.equal(login.status, 200);
    const setCookie = login.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^flowgate_console=[\w-]{40,};/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.match(setCookie, /Path=\/v1\//);
    assert.doesNotMatch(setCookie, new RegExp(TOKEN), 'the cookie is not the token');
    const cookie = setCookie.split(';')[0] ?? '';

    const viaCookie = await openSse(`${api.url}/v1/events`, { cookie });
    assert.equal(viaCookie.status, 200);
    viaCookie.close();
    // the cookie opens the stream and nothing else
    assert.equal((await get('/v1/console/state', { cookie })).status, 401);
    assert.equal((await get('/v1/flows', { cookie })).status, 401);
    // a browser says where a request comes from: another site's page gets nothing
    const cross = await openSse(`${api.url}/v1/events`, { cookie, 'sec-fetch-site': 'cross-site' });
    assert.equal(cross.status, 403);

    const out = await get('/v1/console/session', { ...auth, cookie }, 'DELETE');
    assert.equal(out.status, 200);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    assert.equal((await openSse(`${api.url}/v1/events`, { cookie })).status, 401);
  });
});

describe('web console: the pushed state of a running edge and registrar', () => {
  let dir: string;
  let inst: Instance;
  let url: string;
  let edgeUdp = 0;
  let edgeTcp = 0;
  const closers: (() => unknown)[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-console-'));
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: 127.0.0.1:0, token: ${TOKEN} }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
  registrar:
    listen: [udp:127.0.0.1:0]
    modules: { usrloc: { backend: memory } }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    url = inst.management?.url ?? '';
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    edgeUdp = edge?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
    edgeTcp = edge?.listeners.find((l) => l.proto === 'tcp')?.port ?? 0;
  });

  after(async () => {
    for (const c of closers) await c();
    await inst?.stop(0);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a UA registered over TCP appears within a second, on its flow, with its flow token decoded', async () => {
    const s = await openSse(`${url}/v1/events`, auth);
    closers.push(() => s.close());
    await pushed(s, () => true, 'the first state');
    const ua = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: 'alice' });
    closers.push(() => ua.close());
    const r = await ua.register();
    const registeredAt = Date.now();
    assert.equal(r.status, 200, r.toString());
    const st = await pushed(
      s,
      (x) => x.bindings.rows.some((b) => b.aor === 'alice'),
      'alice in a pushed state',
      1000,
    );
    const took = Date.now() - registeredAt;
    assert.ok(took <= 1000, `pushed after ${took} ms`);
    const b = st.bindings.rows.find((x) => x.aor === 'alice');
    assert.ok(b);
    assert.equal(b.reg_id, 1);
    assert.equal(b.instance, `<${ua.instance}>`);
    assert.equal(b.element, 'registrar');
    const p = b.path[0];
    assert.ok(p, 'registered through the edge: a Path');
    assert.equal(p.token, 'valid', JSON.stringify(p));
    assert.equal(p.edge, 'edge');
    assert.equal(p.transport, 'tcp');
    assert.equal(p.remote, `127.0.0.1:${ua.local.port}`);
    assert.equal(p.local, `127.0.0.1:${edgeTcp}`);
    const flow = st.flows.rows.find((f) => f.id === p.flow);
    assert.ok(flow, `the flow the token names is listed: ${JSON.stringify(st.flows.rows)}`);
    assert.equal(flow.element, 'edge');
    assert.equal(flow.transport, 'tcp');
    assert.equal(flow.peer, `127.0.0.1:${ua.local.port}`);
    assert.deepEqual(
      flow.bindings.map((x) => x.aor),
      ['alice'],
    );
    assert.ok(Math.abs(flow.opened_at - Date.now()) < 5000, 'opened_at is wall-clock time');
    assert.deepEqual(
      st.elements.map((e) => [e.name, e.edge, e.registrar]),
      [
        ['edge', true, false],
        ['registrar', false, true],
      ],
    );
  });

  test('search by AoR or IP:port filters flows and bindings on the server', async () => {
    const ua = await TestUa.connect('udp', '127.0.0.1', edgeUdp, { user: 'bob' });
    closers.push(() => ua.close());
    assert.equal((await ua.register()).status, 200);
    const byAor = await openSse(`${url}/v1/events?q=bob`, auth);
    closers.push(() => byAor.close());
    const a = await pushed(byAor, (x) => x.bindings.rows.length > 0, 'bob by AoR');
    assert.deepEqual(
      a.bindings.rows.map((b) => b.aor),
      ['bob'],
    );
    assert.equal(a.query, 'bob');
    assert.ok(a.flows.rows.every((f) => f.bindings.some((x) => x.aor === 'bob')));
    const byIp = await openSse(
      `${url}/v1/events?q=${encodeURIComponent(`127.0.0.1:${ua.local.port}`)}`,
      auth,
    );
    closers.push(() => byIp.close());
    const i = await pushed(byIp, (x) => x.flows.rows.length > 0, 'bob by address');
    assert.deepEqual(
      i.flows.rows.map((f) => [f.transport, f.peer]),
      [['udp', `127.0.0.1:${ua.local.port}`]],
    );
    assert.deepEqual(
      i.bindings.rows.map((b) => b.aor),
      ['bob'],
    );
  });

  test('closing the flow through the API: gone from the pushed state within a second; the binding stays with its flow gone', async () => {
    const s = await openSse(`${url}/v1/events?q=alice`, auth);
    closers.push(() => s.close());
    const before = await pushed(s, (x) => x.flows.rows.length === 1, 'alice on her flow');
    const flow = before.flows.rows[0];
    assert.ok(flow);
    // flow ids hold a slash (w0/c1): escaped, as the page does
    const r = await fetch(`${url}/v1/flows/${encodeURIComponent(flow.id)}?element=edge`, {
      method: 'DELETE',
      headers: auth,
    });
    assert.equal(r.status, 200, await r.text());
    const t0 = Date.now();
    const after = await pushed(s, (x) => x.flows.rows.length === 0, 'the flow gone', 1000);
    assert.ok(Date.now() - t0 <= 1000);
    const b = after.bindings.rows.find((x) => x.aor === 'alice');
    assert.equal(b?.path[0]?.flow, null, 'the token names a flow that is gone');
  });

  test('a binding removed through the API is gone from the pushed state', async () => {
    const s = await openSse(`${url}/v1/events?q=bob`, auth);
    closers.push(() => s.close());
    const st = await pushed(s, (x) => x.bindings.rows.length === 1, 'bob');
    const b = st.bindings.rows[0];
    assert.ok(b);
    const r = await fetch(`${url}/v1/bindings/bob/${b.ruid}?element=registrar`, {
      method: 'DELETE',
      headers: auth,
    });
    assert.equal(r.status, 200);
    await pushed(s, (x) => x.bindings.rows.length === 0, 'bob gone', 1000);
  });

  test('a call ringing at a silent UA is a transaction in progress on both elements', async () => {
    const ua = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: 'carol' });
    closers.push(() => ua.close());
    assert.equal((await ua.register()).status, 200);
    ua.answer = 'silent';
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    const regPort =
      inst.elements.find((e) => e.config.name === 'registrar')?.listeners[0]?.port ?? 0;
    caller.call('sip:carol@example.com', '127.0.0.1', regPort, 3000).catch(() => undefined);
    const s = await openSse(`${url}/v1/events?q=carol`, auth);
    closers.push(() => s.close());
    const st = await pushed(
      s,
      (x) => x.transactions.rows.filter((t) => t.method === 'INVITE').length >= 3,
      'the INVITE transactions',
    );
    const kinds = st.transactions.rows
      .filter((t) => t.method === 'INVITE')
      .map((t) => `${t.element}:${t.kind}`)
      .sort();
    // the registrar's server and client transactions, the edge's server and client ones
    assert.deepEqual(kinds, ['edge:ict', 'edge:ist', 'registrar:ict', 'registrar:ist']);
    const ist = st.transactions.rows.find((t) => t.element === 'registrar' && t.kind === 'ist');
    assert.equal(ist?.from, 'sip:caller@example.com');
    assert.equal(ist?.to, 'sip:carol@example.com');
    assert.match(ist?.peer ?? '', /^udp 127\.0\.0\.1:\d+$/);
    assert.ok((ist?.started_at ?? 0) <= Date.now());
  });

  test('rates: the whole history on connect, then one point a second per element', async () => {
    const s = await openSse(`${url}/v1/events`, auth);
    closers.push(() => s.close());
    await waitFor(() => s.events.some((e) => e.event === 'rate'), 3000, 'a rate point');
    const all = JSON.parse(s.events.find((e) => e.event === 'rates')?.data ?? '{}') as ConsoleRates;
    assert.equal(all.step, 1);
    assert.deepEqual(Object.keys(all.series).sort(), ['edge', 'registrar']);
    const p = JSON.parse(
      s.events.find((e) => e.event === 'rate')?.data ?? '{}',
    ) as ConsoleRatePoint;
    assert.equal(p.t.length, 1);
    assert.ok((p.totals['registrar']?.requests ?? 0) >= 3, JSON.stringify(p.totals));
    // the requests of this file's tests show as a rate somewhere in the window
    const r = await fetch(`${url}/v1/console/rates`, { headers: auth });
    const rates = (await r.json()) as ConsoleRates;
    assert.ok(rates.t.length >= 1, 'sampled since start');
    assert.equal(rates.series['registrar']?.requests.length, rates.t.length);
    assert.ok(
      rates.series['registrar']?.requests.some((v) => (v ?? 0) > 0),
      JSON.stringify(rates),
    );
  });
});
