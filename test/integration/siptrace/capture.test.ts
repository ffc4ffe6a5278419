// Issue 13 §3: HEPv3 capture of every SIP message each element receives and sends. The built-in
// edge and registrar over real loopback sockets, the edge capturing to a UDP collector and the
// registrar to a TCP one (both written here, decoding with our decoder): a REGISTER of alice
// (UDP) and bob (TCP), a call from alice to bob, hung up by alice. Every message in and out of
// both elements arrives once, with the right addresses, ports, transport, timestamps, capture id,
// auth key and Call-ID, the SIP bytes identical to what the phones sent and received and to what
// the other element captured. Then capture is switched off and on through the management API.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, type RunningElement, startInstance } from '../../../src/cli/instance.js';
import { parseConfig } from '../../../src/config/load.js';
import { scanMessage } from '../../../src/message/scanner.js';
import type { DecodedHep } from '../../../src/modules/siptrace/index.js';
import { HepSender } from '../../../src/modules/siptrace/index.js';
import { noopLogger } from '../../../src/util/logger.js';
import {
  startTcpCollector,
  startUdpCollector,
  type TestCollector,
} from '../../support/hep-collector.js';
import { WAIT_MS } from '../../support/net.js';
import { TestUa, waitFor } from '../../support/ua.js';
import { bye, callFrom } from '../../support/ua-call.js';

const TOKEN = 'capture-test-token-0123456789';

/** What a phone put on the wire and took off it, byte for byte. */
interface Wire {
  sent: Buffer[];
  received: () => Buffer[];
}

function recordWire(ua: TestUa): Wire {
  const sent: Buffer[] = [];
  const send = ua.send.bind(ua);
  ua.send = (text: string): void => {
    sent.push(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'));
    send(text);
  };
  return {
    sent,
    received: () => [...ua.requests, ...ua.responses].map((m) => m.buf),
  };
}

const ep = (a: { address: string; port: number }): string => `${a.address}:${a.port}`;

describe('siptrace: HEPv3 capture of an edge and a registrar (issue 13 §3)', () => {
  let dir: string;
  let inst: Instance;
  let udpCol: TestCollector;
  let tcpCol: TestCollector;
  let edge: RunningElement;
  let registrar: RunningElement;
  const uas: TestUa[] = [];
  let t0 = 0;
  let t1 = 0;
  let alice: TestUa;
  let bob: TestUa;
  let aliceWire: Wire;
  let bobWire: Wire;
  let callId = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-siptrace-'));
    udpCol = await startUdpCollector();
    tcpCol = await startTcpCollector();
    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: 127.0.0.1:0, token: ${TOKEN} }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
    modules:
      siptrace: { duplicate_uri: ${udpCol.uri}, hep_capture_id: 101 }
  registrar:
    listen: [udp:127.0.0.1:0]
    alias: [example.com]
    modules:
      usrloc: { backend: memory }
      siptrace: { duplicate_uri: "sip:127.0.0.1:${tcpCol.port};transport=tcp", hep_capture_id: 202, auth_key: s3cret }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    edge = inst.elements.find((e) => e.config.name === 'edge') as RunningElement;
    registrar = inst.elements.find((e) => e.config.name === 'registrar') as RunningElement;
    const port = (p: 'udp' | 'tcp'): number => edge.listeners.find((l) => l.proto === p)?.port ?? 0;
    // the TCP collector connection is up before any traffic
    await waitFor(() => tcpCol.connections === 1, WAIT_MS, 'registrar connects to the collector');

    t0 = Date.now() * 1000;
    alice = await TestUa.connect('udp', '127.0.0.1', port('udp'), { user: 'alice' });
    bob = await TestUa.connect('tcp', '127.0.0.1', port('tcp'), { user: 'bob' });
    uas.push(alice, bob);
    aliceWire = recordWire(alice);
    bobWire = recordWire(bob);
    assert.equal((await alice.register()).status, 200);
    assert.equal((await bob.register()).status, 200);
    const call = await callFrom(alice, 'sip:bob@example.com');
    assert.equal(call.status, 200, call.response.toString());
    assert.ok(call.dialog !== undefined);
    callId = call.dialog.callId;
    await bob.nextRequest('ACK');
    assert.equal((await bye(alice, call.dialog)).status, 200);
    // every message counted by the transports has arrived at its collector
    await waitFor(
      () =>
        udpCol.packets.length === transportCount(edge) &&
        tcpCol.packets.length === transportCount(registrar),
      WAIT_MS,
      'the collectors have every message',
    );
    t1 = Date.now() * 1000;
  });

  after(async () => {
    for (const u of uas) u.close();
    await inst?.stop(0);
    await udpCol?.close();
    await tcpCol?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function transportCount(e: RunningElement): number {
    const s = e.server.transport.stats?.();
    if (s === undefined) return -1;
    let n = 0;
    for (const v of Object.values(s.messagesIn)) n += v;
    for (const v of Object.values(s.messagesOut)) n += v;
    return n;
  }

  const listenerEps = (e: RunningElement): Set<string> =>
    new Set(e.listeners.map((l) => `${l.address}:${l.port}`));
  const dirOf = (e: RunningElement, p: DecodedHep): 'in' | 'out' => {
    const mine = listenerEps(e);
    if (mine.has(ep(p.dst))) return 'in';
    assert.ok(mine.has(ep(p.src)), `${ep(p.src)} -> ${ep(p.dst)} is not ${e.config.name}'s`);
    return 'out';
  };

  test('every message in and out of each element, once, and nothing the collectors could not read', () => {
    assert.deepEqual(udpCol.errors, []);
    assert.deepEqual(tcpCol.errors, []);
    const edgeStats = edge.server.transport.stats?.();
    const regStats = registrar.server.transport.stats?.();
    const sum = (r: Readonly<Record<string, number>> | undefined): number =>
      Object.values(r ?? {}).reduce((a, b) => a + b, 0);
    const count = (c: TestCollector, e: RunningElement, d: 'in' | 'out'): number =>
      c.packets.filter((p) => dirOf(e, p) === d).length;
    assert.equal(count(udpCol, edge, 'in'), sum(edgeStats?.messagesIn));
    assert.equal(count(udpCol, edge, 'out'), sum(edgeStats?.messagesOut));
    assert.equal(count(tcpCol, registrar, 'in'), sum(regStats?.messagesIn));
    assert.equal(count(tcpCol, registrar, 'out'), sum(regStats?.messagesOut));
    // a registration and a call: REGISTER x2, INVITE, 100, 180, 200, ACK, BYE, 200 at the edge
    const firstLines = udpCol.packets.map((p) => p.payload.toString('latin1').split('\r\n')[0]);
    for (const m of [
      /^REGISTER /,
      /^INVITE /,
      /^ACK /,
      /^BYE /,
      /^SIP\/2\.0 180 /,
      /^SIP\/2\.0 200 /,
    ])
      assert.ok(
        firstLines.some((l) => m.test(l ?? '')),
        `${m} in ${firstLines.join(' | ')}`,
      );
    assert.ok(udpCol.packets.length >= 20, `${udpCol.packets.length} packets at the edge`);
  });

  test('each packet: HEP header fields right (family, transport, SIP, capture id, auth key, Call-ID, time)', () => {
    const tcpPorts = new Set([edge.listeners.find((l) => l.proto === 'tcp')?.port]);
    for (const [c, e, id, key] of [
      [udpCol, edge, 101, undefined],
      [tcpCol, registrar, 202, 's3cret'],
    ] as const) {
      for (const p of c.packets) {
        const what = `${e.config.name} ${ep(p.src)} -> ${ep(p.dst)}`;
        assert.equal(p.family, 4, what);
        assert.equal(p.src.address, '127.0.0.1', what);
        assert.equal(p.dst.address, '127.0.0.1', what);
        const tcp = tcpPorts.has(p.src.port) || tcpPorts.has(p.dst.port);
        assert.equal(p.ipProto, tcp ? 6 : 17, what);
        assert.equal(p.protoType, 1, what);
        assert.equal(p.captureId, id, what);
        assert.equal(p.authKey, key, what);
        const msg = scanMessage(p.payload).msg;
        assert.ok(msg !== undefined, what);
        assert.equal(p.correlationId, msg.callId, what);
        const us = p.timeSec * 1_000_000 + p.timeUsec;
        assert.ok(p.timeUsec < 1_000_000, what);
        assert.ok(us >= t0 - 2000 && us <= t1 + 2000, `${what}: ${us} not in [${t0}, ${t1}]`);
      }
    }
    assert.ok(udpCol.packets.some((p) => p.correlationId === callId));
  });

  test("the phones' legs: what alice (UDP) and bob (TCP) sent and received, byte for byte", () => {
    const edgeUdp = edge.listeners.find((l) => l.proto === 'udp');
    const edgeTcp = edge.listeners.find((l) => l.proto === 'tcp');
    for (const [ua, wire, listener] of [
      [alice, aliceWire, edgeUdp],
      [bob, bobWire, edgeTcp],
    ] as const) {
      const peer = ep(ua.local);
      const here = `127.0.0.1:${listener?.port}`;
      const ins = udpCol.packets.filter((p) => ep(p.src) === peer && ep(p.dst) === here);
      const outs = udpCol.packets.filter((p) => ep(p.src) === here && ep(p.dst) === peer);
      assert.deepEqual(
        ins.map((p) => p.payload.toString('latin1')),
        wire.sent.map((b) => b.toString('latin1')),
        `${ua.opts.user}: what it sent is what the edge captured as received, in order`,
      );
      const got = wire.received().map((b) => b.toString('latin1'));
      assert.equal(outs.length, got.length, `${ua.opts.user}: as many sent as received`);
      for (const b of got)
        assert.ok(
          outs.some((p) => p.payload.toString('latin1') === b),
          `${ua.opts.user} received a message the edge did not capture:\n${b}`,
        );
    }
  });

  test('the edge-registrar leg: captured by both elements alike, the receiver after the sender', () => {
    const reg = `127.0.0.1:${registrar.listeners[0]?.port}`;
    const toReg = udpCol.packets.filter((p) => ep(p.dst) === reg);
    const fromReg = udpCol.packets.filter((p) => ep(p.src) === reg);
    assert.ok(toReg.length >= 4 && fromReg.length >= 4);
    const regIn = tcpCol.packets.filter((p) => dirOf(registrar, p) === 'in');
    const regOut = tcpCol.packets.filter((p) => dirOf(registrar, p) === 'out');
    for (const [sent, got] of [
      [toReg, regIn],
      [regOut, fromReg],
    ] as const) {
      assert.equal(sent.length, got.length);
      for (const s of sent) {
        const g = got.find((x) => x.payload.equals(s.payload));
        assert.ok(g !== undefined, `not captured on the other side:\n${s.payload}`);
        assert.equal(ep(g.src), ep(s.src));
        assert.equal(ep(g.dst), ep(s.dst));
        const us = (p: DecodedHep): number => p.timeSec * 1_000_000 + p.timeUsec;
        assert.ok(us(g) >= us(s), 'received no earlier than sent');
      }
    }
  });

  test('management API: GET /v1/capture; PUT switches one element off and on again at run time', async () => {
    const url = inst.management?.url ?? '';
    const call = async (method: string, body?: unknown): Promise<Record<string, unknown>> => {
      const r = await fetch(`${url}/v1/capture`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        signal: AbortSignal.timeout(WAIT_MS),
      });
      const j = (await r.json()) as Record<string, unknown>;
      return { status: r.status, ...j };
    };
    const st = await call('GET');
    assert.equal(st['status'], 200);
    const els = st['elements'] as Record<string, unknown>[];
    assert.deepEqual(
      els.map((e) => [
        e['element'],
        e['loaded'],
        e['enabled'],
        e['collector'],
        e['hep_capture_id'],
      ]),
      [
        ['edge', true, true, udpCol.uri, 101],
        ['registrar', true, true, tcpCol.uri, 202],
      ],
    );
    assert.equal(els[0]?.['sent'], udpCol.packets.length);
    assert.equal(els[1]?.['connected'], true);

    const off = await call('PUT', { enabled: false, element: 'edge' });
    assert.equal(off['status'], 200);
    assert.equal((off['elements'] as Record<string, unknown>[])[0]?.['enabled'], false);
    const edgeBefore = udpCol.packets.length;
    const regBefore = tcpCol.packets.length;
    assert.equal((await alice.register()).status, 200);
    await waitFor(
      () => tcpCol.packets.length === regBefore + 2,
      WAIT_MS,
      'registrar still captures',
    );
    assert.equal(udpCol.packets.length, edgeBefore, 'the edge captured nothing while off');

    const on = await call('PUT', { enabled: true });
    assert.equal(on['status'], 200);
    assert.equal((await alice.register()).status, 200);
    await waitFor(
      () => udpCol.packets.length === edgeBefore + 4,
      WAIT_MS,
      'the edge captures again',
    );

    const bad = await call('PUT', { enabled: 'yes' });
    assert.equal(bad['status'], 400);
    const nope = await call('PUT', { enabled: true, element: 'nope' });
    assert.equal(nope['status'], 404);
  });
  test('GET /v1/trace: token required; Server-Sent Events for a browser; at most 8 at once', async () => {
    const url = `${inst.management?.url ?? ''}/v1/trace`;
    assert.equal((await fetch(url, { signal: AbortSignal.timeout(WAIT_MS) })).status, 401);
    const ac = new AbortController();
    const res = await fetch(`${url}?aor=alice&element=edge`, {
      headers: { authorization: `Bearer ${TOKEN}`, accept: 'text/event-stream' },
      signal: ac.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    let text = '';
    const dec = new TextDecoder();
    const readUntil = async (re: RegExp): Promise<void> => {
      while (!re.test(text)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`stream ended:\n${text}`);
        text += dec.decode(value, { stream: true });
      }
    };
    await readUntil(/^event: start\ndata: .*\n\n/m);
    assert.match(text, /"elements":\["edge"\],"filter":\{"aor":"alice","call_id":null\}/);
    assert.equal((await alice.register({ callId: 'sse-reg@test' })).status, 200);
    await readUntil(/^event: message\ndata: .*\n\n[\s\S]*^event: message\ndata: .*\n\n/m);
    const events = [...text.matchAll(/^event: message\ndata: (.*)$/gm)].map(
      (m) => JSON.parse(m[1] ?? '{}') as Record<string, unknown>,
    );
    assert.deepEqual(
      events.slice(0, 2).map((e) => [e['element'], e['direction'], e['call_id']]),
      [
        ['edge', 'in', 'sse-reg@test'],
        ['edge', 'out', 'sse-reg@test'],
      ],
    );
    // seven more fill the limit of eight; the ninth is refused
    const more: AbortController[] = [];
    try {
      for (let i = 0; i < 7; i++) {
        const c = new AbortController();
        more.push(c);
        const r = await fetch(url, {
          headers: { authorization: `Bearer ${TOKEN}` },
          signal: c.signal,
        });
        assert.equal(r.status, 200);
      }
      const ninth = await fetch(url, {
        headers: { authorization: `Bearer ${TOKEN}` },
        signal: AbortSignal.timeout(WAIT_MS),
      });
      assert.equal(ninth.status, 503);
      assert.match(((await ninth.json()) as { message: string }).message, /8 live traces are open/);
    } finally {
      for (const c of more) c.abort();
      ac.abort();
    }
    // closed streams are let go: capture goes on, the tap keeps only the capture's sink
    const edgeTap = edge.server.tap;
    await waitFor(() => edgeTap.sinkCount === 1, WAIT_MS, 'the traces to close');
  });
});

describe('HepSender over TCP', () => {
  test('packets wait (bounded) while the collector is away, and go once it is reachable', async () => {
    const probe = await startTcpCollector();
    const port = probe.port;
    await probe.close();
    const sender = new HepSender(
      { proto: 'tcp', host: '127.0.0.1', port },
      { reconnectMinMs: 50, reconnectMaxMs: 100, maxQueueBytes: 100 },
    );
    await sender.open();
    const packet = (n: number): Buffer[] => {
      const b = Buffer.alloc(30);
      b.write('HEP3');
      b.writeUInt16BE(30, 4);
      b.writeUInt32BE(n, 26);
      return [b];
    };
    for (let i = 0; i < 5; i++) sender.send(packet(i));
    // 100 bytes of queue: three packets wait, two are dropped
    assert.equal(sender.stats().dropped, 2);
    await waitFor(() => sender.stats().errors > 0, WAIT_MS, 'connect refused');
    const col = await startTcpCollector(port);
    try {
      await waitFor(() => sender.stats().connected, WAIT_MS, 'reconnected');
      // three 30-octet packets (no chunks: the collector counts them as undecodable)
      await waitFor(() => col.errors.length === 3, WAIT_MS, 'the queued packets arrive');
      assert.equal(sender.stats().sent, 3);
    } finally {
      await sender.close();
      await col.close();
    }
  });
});
