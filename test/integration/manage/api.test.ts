// The management API in process: real element servers on loopback, a memory location store behind
// the timing decorator, HTTP requests against every route.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { elementOptions } from '../../../src/config/element.js';
import { parseConfig } from '../../../src/config/load.js';
import {
  type ManagementServer,
  StoreMetrics,
  startManagementServer,
  TimedLocationStore,
} from '../../../src/manage/index.js';
import { escapeLabel, Histogram, PrometheusText } from '../../../src/manage/prometheus.js';
import { MemoryLocationStore } from '../../../src/modules/location/index.js';
import { createServer, type FlowgateServer } from '../../../src/server.js';
import { noopLogger } from '../../../src/util/logger.js';
import { makeBinding } from '../../support/location-store.case.js';
import { UdpClient, WAIT_MS, waitFor } from '../../support/net.js';

const TOKEN = 'test-token-0123456789';

/** One raw HTTP exchange (fetch cannot send another Host, or none): status line and JSON body. */
function rawHttp(url: string, request: string): Promise<{ status: number; body: unknown }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const sock = connect(Number(u.port), u.hostname);
    let data = '';
    sock.setTimeout(WAIT_MS, () => sock.destroy(new Error('no answer')));
    sock.on('data', (d) => {
      data += d.toString();
    });
    sock.on('error', reject);
    sock.on('close', () => {
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(data)?.[1] ?? 0);
      const text = data.slice(data.indexOf('\r\n\r\n') + 4);
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON
      }
      resolve({ status, body });
    });
    sock.write(request);
  });
}

describe('management API', () => {
  let api: ManagementServer;
  let servers: FlowgateServer[] = [];
  let store: TimedLocationStore;
  const metrics = new StoreMetrics();

  before(async () => {
    const config = parseConfig(
      'elements:\n  front:\n    script: static\n    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]\n  back:\n    script: static\n    listen: [udp:127.0.0.1:0]\n',
      '/tmp/flowgate-manage.yaml',
    );
    store = new TimedLocationStore(new MemoryLocationStore(), metrics, 'back:memory');
    await store.open();
    const now = Date.now();
    await store.apply('alice', {
      upsert: [
        makeBinding(now, 'alice', 'r-a1', { regId: 1, instance: '<urn:uuid:1>', q: 500 }),
        makeBinding(now, 'alice', 'r-a2', { seq: 2 }),
      ],
      remove: [],
    });
    await store.apply('bob', { upsert: [makeBinding(now, 'bob', 'r-b1')], remove: [] });
    await store.apply('carol', { upsert: [makeBinding(now, 'carol', 'r-c1')], remove: [] });
    servers = [
      createServer(elementOptions(config, 'front')),
      createServer(elementOptions(config, 'back')),
    ];
    for (const s of servers) await s.listen();
    const [front, back] = servers as [FlowgateServer, FlowgateServer];
    api = await startManagementServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      hosts: ['mgmt.example.com'],
      elements: () => [
        { server: front, script: 'static', modules: ['tm'], location: undefined },
        {
          server: back,
          script: 'static',
          modules: ['tm', 'registrar'],
          location: store,
          aorKey: (s) => (s.startsWith('sip:') ? /^sip:([^@]+)@/.exec(s)?.[1] : s),
        },
      ],
      storeMetrics: metrics,
      info: { version: '9.9.9', startedAt: Date.now() - 5000 },
      logger: noopLogger,
    });
  });

  after(async () => {
    await api?.close();
    for (const s of servers) await s.close();
    await store?.close();
  });

  const get = async (
    path: string,
    init: RequestInit = {},
    token: string | null = TOKEN,
  ): Promise<{ status: number; body: Record<string, unknown>; text: string; headers: Headers }> => {
    const headers = new Headers(init.headers);
    if (token !== null) headers.set('authorization', `Bearer ${token}`);
    const r = await fetch(`${api.url}${path}`, {
      ...init,
      headers,
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const text = await r.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // /metrics
    }
    return { status: r.status, body, text, headers: r.headers };
  };

  test('a token is required: none or a wrong one gets 401 JSON', async () => {
    const none = await get('/v1/stats', {}, null);
    assert.equal(none.status, 401);
    assert.equal(none.body['error'], 'unauthorized');
    assert.match(none.headers.get('www-authenticate') ?? '', /^Bearer/);
    assert.equal((await get('/v1/stats', {}, 'wrong-token-0123456789')).status, 401);
    assert.equal((await get('/metrics', {}, null)).status, 401);
  });

  test('/health without a token (probes): the status only; a wrong token is still 401', async () => {
    const r = await get('/health', {}, null);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'ok' });
    const wrong = await get('/health', {}, 'wrong-token-0123456789');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body['error'], 'unauthorized');
  });

  test('Host must name this server (DNS rebinding): another name gets 421 JSON, even with the token', async () => {
    const port = new URL(api.url).port;
    const req = (host: string | null, path = '/v1/stats', version = '1.1'): string =>
      `GET ${path} HTTP/${version}\r\n${host === null ? '' : `Host: ${host}\r\n`}Authorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`;
    const evil = await rawHttp(api.url, req(`rebind.attacker.example:${port}`));
    assert.equal(evil.status, 421);
    assert.deepEqual(evil.body, {
      error: 'misdirected',
      message: `Host "rebind.attacker.example:${port}" does not name this server: use 127.0.0.1:${port}, or add the name to management.hosts`,
    });
    // /health too: a page must not learn that the API is there
    assert.equal((await rawHttp(api.url, req('attacker.example', '/health'))).status, 421);
    // the right address on another port, and another loopback address
    assert.equal((await rawHttp(api.url, req('127.0.0.1:1'))).status, 421);
    assert.equal((await rawHttp(api.url, req(`127.0.0.2:${port}`))).status, 421);
    assert.equal((await rawHttp(api.url, req(`0.0.0.0:${port}`))).status, 421);
    assert.equal((await rawHttp(api.url, req(`[::1]:${port}`))).status, 421);
    assert.equal((await rawHttp(api.url, req(`127.0.0.1:${port}@evil`))).status, 421);
    // HTTP/1.0 without Host
    const none = await rawHttp(api.url, req(null, '/v1/stats', '1.0'));
    assert.equal(none.status, 421);
    assert.deepEqual(none.body, {
      error: 'misdirected',
      message: `a Host header is required: send Host: 127.0.0.1:${port} (HTTP/1.1)`,
    });
  });

  test('Host accepted: the listen address with its port, localhost:port on loopback, management.hosts names', async () => {
    const port = new URL(api.url).port;
    const req = (host: string): string =>
      `GET /v1/stats HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`;
    for (const host of [
      `127.0.0.1:${port}`,
      `localhost:${port}`,
      `LocalHost:${port}`,
      'mgmt.example.com',
      `MGMT.example.com:8443`,
    ]) {
      const r = await rawHttp(api.url, req(host));
      assert.equal(r.status, 200, `${host}: ${JSON.stringify(r.body)}`);
    }
    // accepted Host, no token: still 401
    const noToken = await rawHttp(
      api.url,
      `GET /v1/stats HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(noToken.status, 401);
  });

  test('GET /health', async () => {
    const r = await get('/health');
    assert.equal(r.status, 200);
    assert.equal(r.body['status'], 'ok');
    assert.deepEqual(r.body['elements'], ['front', 'back']);
    assert.ok(Number(r.body['uptime']) >= 4);
  });

  test('GET /v1/elements lists scripts, modules and real listeners', async () => {
    const r = await get('/v1/elements');
    const els = r.body['elements'] as {
      name: string;
      listen: { transport: string; port: number }[];
      location: string | null;
    }[];
    assert.deepEqual(
      els.map((e) => e.name),
      ['front', 'back'],
    );
    assert.deepEqual(
      els[0]?.listen.map((l) => l.transport),
      ['udp', 'tcp'],
    );
    assert.ok(els[0]?.listen.every((l) => l.port > 0));
    assert.equal(els[1]?.location, 'memory');
  });

  test('GET /v1/bindings pages through every AoR; ?aor= gives one (sip: URIs are mapped to the AoR key)', async () => {
    const p1 = await get('/v1/bindings?limit=2');
    const b1 = p1.body['bindings'] as { aor: string; ruid: string }[];
    assert.deepEqual(
      b1.map((b) => b.ruid),
      ['r-a1', 'r-a2'],
    );
    assert.equal(typeof p1.body['next'], 'string');
    const p2 = await get(
      `/v1/bindings?limit=2&cursor=${encodeURIComponent(String(p1.body['next']))}`,
    );
    assert.deepEqual(
      (p2.body['bindings'] as { ruid: string }[]).map((b) => b.ruid),
      ['r-b1', 'r-c1'],
    );
    assert.equal(p2.body['next'], null);
    const one = await get(`/v1/bindings?aor=${encodeURIComponent('sip:alice@example.com')}`);
    const b = (one.body['bindings'] as Record<string, unknown>[])[0];
    assert.equal(b?.['aor'], 'alice');
    assert.equal(b?.['reg_id'], 1);
    assert.equal(b?.['q'], 0.5);
    assert.equal(b?.['instance'], '<urn:uuid:1>');
    assert.ok(Number(b?.['expires_in']) > 3500);
    const bob = (await get('/v1/bindings/bob')).body['bindings'] as { ruid: string }[];
    assert.deepEqual(
      bob.map((x) => x.ruid),
      ['r-b1'],
    );
  });

  test('bad paging parameters and unknown elements are 400/404 JSON', async () => {
    const bad = await get('/v1/bindings?limit=0');
    assert.equal(bad.status, 400);
    assert.match(String(bad.body['message']), /limit: expected an integer 1\.\.1000/);
    assert.equal((await get('/v1/bindings?cursor=garbage')).status, 400);
    const nope = await get('/v1/bindings?element=front');
    assert.equal(nope.status, 404);
    assert.match(String(nope.body['message']), /has no location store/);
  });

  test('DELETE /v1/bindings/:aor/:ruid and /v1/bindings/:aor', async () => {
    const one = await get('/v1/bindings/alice/r-a2', { method: 'DELETE' });
    assert.deepEqual(one.body, { removed: 1 });
    assert.deepEqual(
      (await store.get('alice')).map((b) => b.ruid),
      ['r-a1'],
    );
    const again = await get('/v1/bindings/alice/r-a2', { method: 'DELETE' });
    assert.equal(again.status, 404);
    assert.deepEqual((await get('/v1/bindings/carol', { method: 'DELETE' })).body, { removed: 1 });
    assert.equal((await get('/v1/bindings/carol', { method: 'DELETE' })).status, 404);
    assert.equal((await get('/v1/bindings/carol', { method: 'PUT' })).status, 405);
  });

  test('GET /v1/flows lists flows with transport, peer, age; filters by transport', async () => {
    const front = servers[0] as FlowgateServer;
    const port = front.transport.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
    const ua = await UdpClient.open();
    try {
      ua.send(
        `OPTIONS sip:front@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-m1\r\nMax-Forwards: 70\r\nFrom: <sip:t@x>;tag=1\r\nTo: <sip:front@127.0.0.1>\r\nCall-ID: m1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        port,
      );
      await waitFor(() => ua.received.length > 0, WAIT_MS, 'OPTIONS reply');
      assert.match(ua.received[0]?.toString() ?? '', /^SIP\/2\.0 200 /);
    } finally {
      await ua.close();
    }
    const r = await get('/v1/flows');
    const flows = r.body['flows'] as {
      element: string;
      transport: string;
      peer: string;
      age: number;
      last_keepalive: number | null;
    }[];
    const udp = flows.find((f) => f.element === 'front' && f.transport === 'udp');
    assert.ok(udp !== undefined, JSON.stringify(flows));
    assert.match(udp.peer, /^127\.0\.0\.1:\d+$/);
    assert.ok(udp.age >= 0);
    assert.deepEqual((await get('/v1/flows?transport=tcp')).body['flows'], []);
  });

  test('GET /v1/stats has per-element counters', async () => {
    const r = await get('/v1/stats');
    const els = r.body['elements'] as Record<string, Record<string, unknown>>;
    assert.deepEqual(
      (els['front']?.['requests'] as Record<string, number> | undefined)?.['OPTIONS'],
      1,
    );
    assert.equal(els['back']?.['bindings'], 2);
    assert.equal(r.body['version'], '9.9.9');
    assert.ok(Array.isArray(r.body['store']));
  });

  test('GET /metrics: Prometheus text 0.0.4 with the flowgate families', async () => {
    const r = await get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const t = r.text;
    for (const fam of [
      'flowgate_requests_total',
      'flowgate_replies_total',
      'flowgate_transactions_active',
      'flowgate_transactions_unindexed_total',
      'flowgate_flows',
      'flowgate_bindings',
      'flowgate_keepalives_total',
      'flowgate_flow_failed_430_total',
      'flowgate_flow_token_failures_total',
      'flowgate_store_op_seconds',
      'flowgate_messages_dropped_total',
    ]) {
      assert.match(t, new RegExp(`^# TYPE ${fam} (counter|gauge|histogram)$`, 'm'), fam);
    }
    assert.match(t, /^flowgate_requests_total\{element="front",method="OPTIONS"\} 1$/m);
    assert.match(t, /^flowgate_replies_total\{element="front",code="200"\} 1$/m);
    assert.match(t, /^flowgate_bindings\{element="back"\} 2$/m);
    assert.match(t, /^flowgate_transactions_active\{element="front",side="server"\} \d+$/m);
    assert.match(t, /^flowgate_transactions_unindexed_total\{element="front"\} 0$/m);
    assert.match(t, /^flowgate_flows\{element="front",transport="udp"\} \d+$/m);
    assert.match(t, /^flowgate_messages_dropped_total\{element="front",reason="garbage"\} 0$/m);
    assert.match(
      t,
      /^flowgate_store_op_seconds_bucket\{store="back:memory",op="apply",le="\+Inf"\} [1-9]\d*$/m,
    );
    assert.match(t, /^flowgate_store_op_seconds_count\{store="back:memory",op="count"\} \d+$/m);
    // every sample line is name{labels} value
    for (const line of t.trimEnd().split('\n')) {
      if (line.startsWith('#')) continue;
      assert.match(
        line,
        /^[a-z_][a-z0-9_]*(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [-+0-9.eNaInf]+$/,
        line,
      );
    }
  });

  test('unknown routes are 404 JSON', async () => {
    const r = await get('/v2/nothing');
    assert.equal(r.status, 404);
    assert.equal(r.body['error'], 'not_found');
    assert.match(String(r.body['message']), /no route GET \/v2\/nothing/);
  });

  test('/health turns 503 while stopping', async () => {
    api.setStopping();
    const r = await get('/health');
    assert.equal(r.status, 503);
    assert.equal(r.body['status'], 'stopping');
    const probe = await get('/health', {}, null);
    assert.equal(probe.status, 503);
    assert.deepEqual(probe.body, { status: 'stopping' });
  });
});

describe('Prometheus text', () => {
  test('families once, label escaping, histogram buckets cumulative', () => {
    const h = new Histogram([0.1, 1]);
    h.observe({ op: 'get' }, 0.05);
    h.observe({ op: 'get' }, 0.5);
    h.observe({ op: 'get' }, 5);
    const t = new PrometheusText();
    t.family('x_total', 'counter', 'X.')
      .sample('x_total', { a: 'q"\\\nz' }, 1)
      .family('x_total', 'counter', 'again');
    t.family('h_seconds', 'histogram', 'H.');
    h.writeTo(t, 'h_seconds');
    assert.equal(
      t.toString(),
      [
        '# HELP x_total X.',
        '# TYPE x_total counter',
        'x_total{a="q\\"\\\\\\nz"} 1',
        '# HELP h_seconds H.',
        '# TYPE h_seconds histogram',
        'h_seconds_bucket{op="get",le="0.1"} 1',
        'h_seconds_bucket{op="get",le="1"} 2',
        'h_seconds_bucket{op="get",le="+Inf"} 3',
        'h_seconds_sum{op="get"} 5.55',
        'h_seconds_count{op="get"} 3',
        '',
      ].join('\n'),
    );
    assert.equal(escapeLabel('a\\b'), 'a\\\\b');
  });
});
