// The management routes `flowgate ctl` operates with: the run-time log level (the CLI's real pino
// logger, writing to a file), closing a flow (a real TCP connection to a real element), and
// `?element=` / `?transport=` validated on every route that takes them.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type CliLogger, createCliLogger } from '../../../src/cli/logger.js';
import { elementOptions } from '../../../src/config/element.js';
import { parseConfig } from '../../../src/config/load.js';
import {
  type ManagementServer,
  StoreMetrics,
  startManagementServer,
} from '../../../src/manage/index.js';
import { createServer, type FlowgateServer } from '../../../src/server.js';
import { StreamClient, UdpClient, WAIT_MS, waitFor } from '../../support/net.js';

const TOKEN = 'ops-test-token-0123456789';
const DIR = mkdtempSync(join(tmpdir(), 'flowgate-ops-'));

describe('management API: loglevel, close a flow, element and transport filters', () => {
  let api: ManagementServer;
  let cli: CliLogger;
  let servers: FlowgateServer[] = [];
  const logFile = join(DIR, 'flowgate.log');

  before(async () => {
    const config = parseConfig(
      'elements:\n  front:\n    script: static\n    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]\n  back:\n    script: static\n    listen: [udp:127.0.0.1:0]\n',
      join(DIR, 'ops.yaml'),
    );
    cli = createCliLogger({ level: 'info', pretty: false, file: logFile });
    servers = ['front', 'back'].map((n) =>
      createServer(elementOptions(config, n, { logger: cli.logger })),
    );
    for (const s of servers) await s.listen();
    const [front, back] = servers as [FlowgateServer, FlowgateServer];
    api = await startManagementServer({
      host: '127.0.0.1',
      port: 0,
      token: TOKEN,
      elements: () => [
        { server: front, script: 'static', modules: ['tm'], location: undefined },
        { server: back, script: 'static', modules: ['tm'], location: undefined },
      ],
      storeMetrics: new StoreMetrics(),
      info: { version: '9.9.9', startedAt: Date.now() },
      logger: cli.logger,
      logLevel: cli,
    });
  });

  after(async () => {
    await api?.close();
    for (const s of servers) await s.close();
    cli?.flush();
    rmSync(DIR, { recursive: true, force: true });
  });

  const call = async (
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: Record<string, unknown> }> => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${TOKEN}`);
    const r = await fetch(`${api.url}${path}`, {
      ...init,
      headers,
      signal: AbortSignal.timeout(WAIT_MS),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  };
  const put = (body: unknown) =>
    call('/v1/loglevel', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  test('GET/PUT /v1/loglevel: the process and each element; refused values are 400/404', async () => {
    assert.deepEqual((await call('/v1/loglevel')).body, {
      level: 'info',
      elements: { front: 'info', back: 'info' },
    });
    const one = await put({ level: 'debug', element: 'front' });
    assert.equal(one.status, 200);
    assert.deepEqual(one.body, { level: 'info', elements: { front: 'debug', back: 'info' } });
    assert.equal(cli.level('front'), 'debug');
    const all = await put({ level: 'warn' });
    assert.deepEqual(all.body, { level: 'warn', elements: { front: 'warn', back: 'warn' } });
    const bad = await put({ level: 'loud' });
    assert.equal(bad.status, 400);
    assert.equal(
      bad.body['message'],
      'level: expected one of trace, debug, info, warn, error, fatal, silent, got "loud"',
    );
    const field = await put({ level: 'info', elements: 'x' });
    assert.equal(field.status, 400);
    assert.equal(field.body['message'], "unknown field 'elements' (expected level, element)");
    const nope = await put({ level: 'info', element: 'nope' });
    assert.equal(nope.status, 404);
    assert.equal(nope.body['message'], "no element 'nope' (there are: front, back)");
    assert.equal(cli.level(), 'warn', 'a refused request changes nothing');
    assert.equal((await call('/v1/loglevel', { method: 'POST' })).status, 405);
    await put({ level: 'info' });
    await waitFor(
      () => readFileSync(logFile, 'utf8').includes('"log_level":"warn"'),
      WAIT_MS,
      'the log line of the change',
    );
  });

  test('DELETE /v1/flows/:id closes a TCP connection; a UDP flow is 409, an unknown one 404', async () => {
    const front = servers[0] as FlowgateServer;
    const tcpPort = front.transport.listeners.find((l) => l.proto === 'tcp')?.port ?? 0;
    const client = await StreamClient.tcp(tcpPort);
    const me = `127.0.0.1:${client.socket.localPort}`;
    // the accepted connection is listed once the transport has it
    let flows: { id: string; peer: string; transport: string }[] = [];
    const t0 = Date.now();
    for (;;) {
      flows = (await call('/v1/flows?transport=tcp')).body['flows'] as typeof flows;
      if (flows.some((f) => f.peer === me)) break;
      assert.ok(Date.now() - t0 < WAIT_MS, 'the connection is not listed');
      await new Promise((r) => setTimeout(r, 20));
    }
    const id = flows.find((f) => f.peer === me)?.id ?? '';
    const closed = await call(`/v1/flows/${encodeURIComponent(id)}`, { method: 'DELETE' });
    assert.equal(closed.status, 200, JSON.stringify(closed.body));
    assert.equal((closed.body['closed'] as { id: string }).id, id);
    await waitFor(() => client.closed, WAIT_MS, 'the client to see the connection end');
    const again = await call(`/v1/flows/${encodeURIComponent(id)}`, { method: 'DELETE' });
    assert.equal(again.status, 404);
    const other = await call(`/v1/flows/${encodeURIComponent(id)}?element=nope`, {
      method: 'DELETE',
    });
    assert.equal(other.status, 404);
    assert.equal(other.body['message'], "no element 'nope' (there are: front, back)");

    const udp = await UdpClient.open();
    try {
      const udpPort = front.transport.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
      udp.send(
        `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${udp.port};branch=z9hG4bK-ops1\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:x@127.0.0.1>\r\nCall-ID: ops-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        udpPort,
      );
      await udp.next();
      const list = (await call('/v1/flows?transport=udp&element=front')).body['flows'] as {
        id: string;
        peer: string;
      }[];
      const uf = list.find((f) => f.peer === `127.0.0.1:${udp.port}`);
      assert.ok(uf !== undefined, JSON.stringify(list));
      const r = await call(`/v1/flows/${encodeURIComponent(uf.id)}`, { method: 'DELETE' });
      assert.equal(r.status, 409);
      assert.match(String(r.body['message']), /is a UDP flow: there is no connection to close/);
    } finally {
      await udp.close();
    }
  });

  test('?element= on stats, elements and flows: only that element, or 404 naming them; ?transport= checked', async () => {
    const s = await call('/v1/stats?element=back');
    assert.deepEqual(Object.keys(s.body['elements'] as object), ['back']);
    const e = await call('/v1/elements?element=front');
    assert.deepEqual(
      (e.body['elements'] as { name: string }[]).map((x) => x.name),
      ['front'],
    );
    for (const p of ['/v1/stats', '/v1/elements', '/v1/flows', '/v1/loglevel']) {
      const r = await call(`${p}?element=nope`);
      assert.equal(r.status, 404, p);
      assert.equal(r.body['message'], "no element 'nope' (there are: front, back)", p);
    }
    const t = await call('/v1/flows?transport=xyz');
    assert.equal(t.status, 400);
    assert.equal(t.body['message'], "transport: expected one of udp, tcp, tls, ws, wss, got 'xyz'");
  });
});
