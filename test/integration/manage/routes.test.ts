// The route table (src/manage/routes.ts) is what the management API serves: every route answers
// on a real server (with the token; without it 401, except the public ones) with the status its
// reference documents, the documented examples (docs/api.md's curl lines) work as written, and no
// path the code, the CLI or the console page uses is missing from the table.
import assert from 'node:assert/strict';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { elementOptions } from '../../../src/config/element.js';
import { parseConfig } from '../../../src/config/load.js';
import {
  type ManagementServer,
  ROUTES,
  type RouteId,
  type RouteSpec,
  routesFor,
  StoreMetrics,
  startManagementServer,
} from '../../../src/manage/index.js';
import { MemoryCredentialStore } from '../../../src/modules/auth/store/index.js';
import { MemoryLocationStore } from '../../../src/modules/location/index.js';
import { createServer, type FlowgateServer } from '../../../src/server.js';
import { noopLogger } from '../../../src/util/logger.js';
import { makeBinding } from '../../support/location-store.case.js';
import { StreamClient, WAIT_MS } from '../../support/net.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const TOKEN = 'routes-test-token-0123456789';
const RUID = 'uloc-19a4f3c2b10-3f9a2c-1';

/** What each route answers to its documented example, on the server below. */
const EXPECT: Record<RouteId, number> = {
  health: 200,
  metrics: 200,
  elements: 200,
  stats: 200,
  registrars: 200,
  'flows.list': 200,
  'flows.close': 200,
  'bindings.list': 200,
  'bindings.aor': 200,
  'bindings.removeAor': 200,
  'bindings.remove': 200,
  'loglevel.get': 200,
  'loglevel.set': 200,
  'tls.reload': 200,
  'users.list': 200,
  'users.add': 201,
  'users.get': 200,
  'users.set': 200,
  'users.remove': 204,
  'capture.get': 200,
  // no element of this server loads siptrace
  'capture.set': 404,
  trace: 200,
  'console.root': 302,
  'console.page': 200,
  'console.file': 200,
  'console.session.open': 200,
  'console.session.close': 200,
  'console.state': 200,
  'console.rates': 200,
  'console.stats': 200,
  events: 200,
};

describe('management API: the route table is what is served', () => {
  const dir = mkdtempSync(join(tmpdir(), 'flowgate-routes-'));
  let api: ManagementServer;
  let servers: FlowgateServer[] = [];
  const location = new MemoryLocationStore();
  const users = new MemoryCredentialStore();
  let client: StreamClient | undefined;
  let flowId = '';
  const levels: Record<string, string> = {};

  before(async () => {
    const assets = join(dir, 'console');
    mkdirSync(assets);
    writeFileSync(join(assets, 'index.html'), '<!doctype html><title>console</title>\n');
    writeFileSync(join(assets, 'console.js'), 'export {};\n');
    const config = parseConfig(
      'elements:\n  edge:\n    script: static\n    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]\n  registrar:\n    script: static\n    listen: [udp:127.0.0.1:0]\n',
      join(dir, 'routes.yaml'),
    );
    servers = [
      createServer(elementOptions(config, 'edge')),
      createServer(elementOptions(config, 'registrar')),
    ];
    for (const s of servers) await s.listen();
    await location.open();
    await users.open();
    const [edge, registrar] = servers as [FlowgateServer, FlowgateServer];
    api = await startManagementServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      elements: () => [
        { server: edge, script: 'static', modules: ['tm'], location: undefined },
        {
          server: registrar,
          script: 'static',
          modules: ['tm', 'registrar'],
          location,
          aorKey: (s) => s.replace(/^sips?:/, '').split('@')[0],
        },
      ],
      storeMetrics: new StoreMetrics(),
      info: { version: '9.9.9', startedAt: Date.now() },
      logger: noopLogger,
      credentials: { store: users },
      logLevel: {
        level: (element) => (element === undefined ? 'info' : (levels[element] ?? 'info')),
        setLevel: (level, element) => {
          if (element !== undefined) levels[element] = level;
        },
      },
      reloadTls: () => [{ element: 'edge', ok: true }],
      console: { assetsDir: assets },
    });
    // a connection flow for DELETE /v1/flows/:id
    const tcpPort = edge.transport.listeners.find((l) => l.proto === 'tcp')?.port ?? 0;
    client = await StreamClient.tcp(tcpPort);
    const me = `127.0.0.1:${client.socket.localPort}`;
    const t0 = Date.now();
    while (flowId === '') {
      const r = await call('GET', '/v1/flows?transport=tcp');
      const flows = (JSON.parse(r.text) as { flows: { id: string; peer: string }[] }).flows;
      flowId = flows.find((f) => f.peer === me)?.id ?? '';
      if (flowId === '') {
        assert.ok(Date.now() - t0 < WAIT_MS, 'the connection is not listed');
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  });

  after(async () => {
    client?.close();
    await api?.close();
    for (const s of servers) await s.close();
    await location.close();
    await users.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** One request; streams are read up to their headers and then closed. */
  async function call(
    method: string,
    path: string,
    opts: { token?: boolean; body?: unknown; accept?: string | undefined } = {},
  ): Promise<{ status: number; text: string; headers: Headers }> {
    const headers = new Headers();
    if (opts.token !== false) headers.set('authorization', `Bearer ${TOKEN}`);
    if (opts.accept !== undefined) headers.set('accept', opts.accept);
    if (opts.body !== undefined) headers.set('content-type', 'application/json');
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), WAIT_MS);
    try {
      const r = await fetch(`${api.url}${path}`, {
        method,
        headers,
        ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }),
        redirect: 'manual',
        signal: ac.signal,
      });
      const type = r.headers.get('content-type') ?? '';
      if (/event-stream|ndjson/.test(type)) {
        ac.abort();
        return { status: r.status, text: '', headers: r.headers };
      }
      return { status: r.status, text: await r.text(), headers: r.headers };
    } finally {
      clearTimeout(timer);
    }
  }

  /** The documented example request of a route. */
  function sample(r: RouteSpec): string {
    // the flow of the example does not exist here: close the test's own connection
    if (r.id === 'flows.close') return `/v1/flows/${encodeURIComponent(flowId)}`;
    return r.sample.path;
  }

  async function seedBindings(): Promise<void> {
    const now = Date.now();
    await location.apply('alice', {
      upsert: [
        makeBinding(now, 'alice', RUID, { regId: 1, instance: '<urn:uuid:1>' }),
        makeBinding(now, 'alice', 'r-a2', { seq: 2 }),
      ],
      remove: [],
    });
  }

  test('every route answers its documented example (with the token where it takes one)', async () => {
    for (const r of ROUTES as readonly RouteSpec[]) {
      if (r.id === 'bindings.list' || r.id === 'bindings.remove') await seedBindings();
      // the console page's files are fetched as a browser does, without the token
      const res = await call(r.method, sample(r), {
        token: r.auth !== 'none',
        body: r.sample.body,
        accept: r.sample.accept,
      });
      const at = `${r.method} ${r.path}: ${res.status} ${res.text.slice(0, 300)}`;
      assert.equal(res.status, EXPECT[r.id as RouteId], at);
      const documented = [...r.statuses.map(([c]) => c), 401];
      assert.ok(documented.includes(res.status), `${at}: the status is not documented`);
      // the router's own answers never reach a route in the table
      assert.doesNotMatch(res.text, /"error": "(method_not_allowed|unauthorized)"|no route/, at);
      if (res.status === 200 && r.response.startsWith('JSON')) JSON.parse(res.text);
    }
  });

  test('without the token: 401 except the public routes', async () => {
    for (const r of ROUTES as readonly RouteSpec[]) {
      const res = await call(r.method, sample(r), {
        token: false,
        body: r.sample.body,
        accept: r.sample.accept,
      });
      const at = `${r.method} ${r.path}: ${res.status} ${res.text.slice(0, 200)}`;
      if (r.auth === 'token' || r.auth === 'token_or_session') {
        assert.equal(res.status, 401, at);
        assert.match(res.text, /"error": "unauthorized"/, at);
        assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer/, at);
      } else {
        assert.notEqual(res.status, 401, at);
        assert.ok(res.status < 400, at);
      }
    }
    // the probe learns the status only
    assert.deepEqual(JSON.parse((await call('GET', '/health', { token: false })).text), {
      status: 'ok',
    });
  });

  test('a path or method the table does not have is refused by the router', async () => {
    for (const p of ['/v2/nothing', '/v1', '/v1/flows/a/b', '/v1/console', '/metrics/x']) {
      const res = await call('GET', p);
      assert.equal(res.status, 404, p);
      assert.match(res.text, /no route GET/, p);
      assert.equal((await call('GET', p, { token: false })).status, 401, p);
    }
    for (const r of ROUTES as readonly RouteSpec[]) {
      const allowed = routesFor(r.path.replace(/\/$/, '') || '/').map((c) => c.route.method);
      const other = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'].find(
        (m) => !allowed.includes(m as RouteSpec['method']),
      ) as string;
      const res = await call(other, sample(r));
      assert.equal(res.status, 405, `${other} ${r.path}`);
      assert.equal(
        res.headers.get('allow'),
        [...new Set(allowed)].join(', '),
        `${other} ${r.path}`,
      );
    }
  });
});

/** Every .ts/.tsx file under `dir`. */
function sources(dir: string, out: string[] = []): string[] {
  for (const n of readdirSync(dir)) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.tsx?$/.test(n)) out.push(p);
  }
  return out;
}

test('every API path the server, the CLI and the console page name is a route of the table', () => {
  const found = new Map<string, string>();
  for (const dir of ['src/manage', 'src/cli', 'web/console']) {
    for (const file of sources(join(ROOT, dir))) {
      // a template's ${…} stands for one path segment (or a query string: cut below)
      const text = readFileSync(file, 'utf8').replace(/\$\{[^}]*\}/g, '\u24cd');
      for (const m of text.matchAll(
        /(?:['"`]|\u24cd)(\/(?:v1\/|health|metrics|console)[^'"`\s?#*)]*)/g,
      )) {
        // `${…}` after a segment is a query string; after a slash it is a segment
        const p = (m[1] ?? '')
          .replace(/(?<!\/)\u24cd+$/, '')
          .replace(/\u24cd+/g, 'x')
          .replace(/[.,:;]+$/, '');
        if (p === '/v1/' || p === '/v1') continue; // the console cookie's Path
        if (!found.has(p)) found.set(p, `${dir}/${file.slice(join(ROOT, dir).length + 1)}`);
      }
    }
  }
  assert.ok(
    ['/v1/flows/x', '/v1/bindings/x/x', '/v1/users/x', '/v1/events', '/v1/elements'].every((p) =>
      found.has(p),
    ),
    [...found.keys()].join(' '),
  );
  const missing = [...found].filter(([p]) => routesFor(p.replace(/\/+$/, '') || '/').length === 0);
  assert.deepEqual(missing, []);
});
