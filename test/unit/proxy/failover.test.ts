// Issue 12 §2: next-hop failover (RFC 3263 §4.3) for any t_relay to a name with several addresses,
// and the edge's registrar set (Kamailio dispatcher): per-request plan, failover within the
// transaction, OPTIONS probing with up/down states. In-process, manual clock, injected DNS.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DestinationSet } from '../../../src/proxy/destination-set.js';
import { type DnsApi, Resolver } from '../../../src/proxy/resolver.js';
import { defineScript } from '../../../src/script/api.js';
import type { RegistrarSetOptions } from '../../../src/server.js';
import { firstLine, type Harness, harness, type Sent } from '../../support/harness.js';
import { CapturingLogger } from '../../support/logger.js';

const UAC = '192.0.2.10:5070';
const R1 = '10.0.0.1:5070';
const R2 = '10.0.0.2:5070';
const R3 = '10.0.0.3:5070';

/** DNS with A records only (never leaves the process). */
function dnsA(a: Record<string, string[]>): DnsApi {
  const miss = (): Promise<never> => Promise.reject(new Error('ENOTFOUND'));
  return {
    resolveNaptr: () => miss(),
    resolveSrv: () => miss(),
    resolve4: (h) => (a[h] === undefined ? miss() : Promise.resolve(a[h])),
    resolve6: () => miss(),
  };
}

/** Relays every request to `$du = du` (a name, or the registrar set's `$du`). */
function relayTo(du: string) {
  return defineScript({
    request_route(ctx) {
      if (ctx.is_method('CANCEL')) {
        if (ctx.t_check_trans()) ctx.t_relay();
        ctx.exit();
      }
      ctx.t_check_trans();
      ctx.$du = du;
      if (!ctx.t_relay()) ctx.sl_reply_error();
    },
  });
}

function request(
  method = 'MESSAGE',
  user = 'bob',
  branch = 'z9hG4bK-c1',
  callId = 'c1@uac',
): string {
  return `${method} sip:${user}@example.com SIP/2.0
Via: SIP/2.0/UDP ${UAC};branch=${branch};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:${user}@example.com>
Call-ID: ${callId}
CSeq: 1 ${method}
Contact: <sip:alice@${UAC}>
Content-Length: 0

`;
}

/** A response to a request the element sent. */
function answer(to: Sent, status: number, reason: string): string {
  const m = to.msg;
  const vias = m
    .getHeaders('Via')
    .map((v) => `Via: ${v}`)
    .join('\n');
  return `SIP/2.0 ${status} ${reason}
${vias}
From: ${m.getHeader('From')}
To: ${m.getHeader('To')}${status > 100 ? ';tag=x' : ''}
Call-ID: ${m.callId}
CSeq: ${m.getHeader('CSeq')}
Content-Length: 0

`;
}

const requests = (s: Sent[]): Sent[] => s.filter((x) => x.msg.isRequest);
const responses = (s: Sent[]): Sent[] => s.filter((x) => !x.msg.isRequest);
/** `address:port` a sent message went to (UDP). */
const dest = (s: Sent): string => s.to.replace(/^w0\/u\d+\//, '');
const branchOf = (s: Sent): string => s.msg.topVia?.params.get('branch')?.toString() ?? '';

async function settle(h: Harness): Promise<void> {
  await h.settle();
}

describe('next-hop failover for a name with several addresses (RFC 3263 §4.3)', () => {
  const resolver = (): Resolver =>
    new Resolver(dnsA({ 'reg.example.net': ['10.0.0.1', '10.0.0.2'] }), 30_000, () => 0);

  test('a transport error on the first address: the request goes to the next one, as a new transaction', async () => {
    const h = harness({ script: relayTo('sip:reg.example.net:5070'), resolver: resolver() });
    h.transport.unreachable.add('udp:10.0.0.1:5070');
    h.inject(request(), UAC);
    await settle(h);
    const out = requests(h.take());
    assert.deepEqual(out.map(dest), [R2]);
    assert.equal(h.server.core.stats.nextHopFailovers, 1);
  });

  test('a 503 from the first address: tried on the next one; the 503 goes no further', async () => {
    const h = harness({ script: relayTo('sip:reg.example.net:5070'), resolver: resolver() });
    h.inject(request(), UAC);
    await settle(h);
    const [first] = requests(h.take());
    assert.ok(first);
    assert.equal(dest(first), R1);
    h.inject(answer(first, 503, 'Service Unavailable'), R1);
    await settle(h);
    const after = h.take();
    assert.deepEqual(responses(after), [], 'no 503 upstream');
    const [second] = requests(after);
    assert.ok(second);
    assert.equal(dest(second), R2);
    assert.notEqual(branchOf(second), branchOf(first), 'a new branch id (RFC 3263 §4.3)');
    h.inject(answer(second, 200, 'OK'), R2);
    const up = responses(h.take());
    assert.deepEqual(up.map(firstLine), ['SIP/2.0 200 OK']);
  });

  test('timer F without any response: the next address; after a provisional, no failover', async () => {
    const h = harness({ script: relayTo('sip:reg.example.net:5070'), resolver: resolver() });
    h.inject(request(), UAC);
    await settle(h);
    h.clock.advance(32_000);
    const moved = requests(h.take()).filter((s) => dest(s) === R2);
    assert.equal(new Set(moved.map(branchOf)).size, 1, 'sent to the second address after timer F');
    // the second answers 100 Trying, then nothing: 408 upstream, no third attempt
    h.inject(answer(moved[0] as Sent, 100, 'Trying'), R2);
    h.clock.advance(32_000);
    const final = responses(h.take()).map(firstLine);
    assert.deepEqual(final, ['SIP/2.0 408 Request Timeout']);
  });
});

const SET = (o: Partial<RegistrarSetOptions> = {}): RegistrarSetOptions => ({
  du: `sip:${R1}`,
  uris: [`sip:${R1}`, `sip:${R2}`],
  policy: 'priority',
  probeInterval: 10,
  probeThreshold: 2,
  timeoutMs: 2000,
  ...o,
});

describe('registrar set (edge.registrar as a list; Kamailio dispatcher)', () => {
  test('priority: the first registrar takes the request; no answer within the timeout: the next one', async () => {
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET() });
    h.inject(request('REGISTER', 'alice'), UAC);
    let out = requests(h.take());
    assert.deepEqual(out.map(dest), [R1]);
    h.clock.advance(1999);
    assert.deepEqual(
      [...new Set(requests(h.take()).map(dest))],
      [R1],
      'UDP retransmissions to the first one only',
    );
    h.clock.advance(1);
    out = requests(h.take());
    assert.deepEqual(out.map(dest), [R2]);
    h.inject(answer(out[0] as Sent, 200, 'OK'), R2);
    assert.deepEqual(responses(h.take()).map(firstLine), ['SIP/2.0 200 OK']);
    const v = h.server.registrars?.view() ?? [];
    assert.deepEqual(
      v.map((r) => [r.uri, r.state, r.failures, r.failovers]),
      [
        [`sip:${R1}`, 'up', 1, 1],
        [`sip:${R2}`, 'up', 0, 0],
      ],
    );
    // the late answer of the first registrar is stray: nothing more goes upstream
    h.clock.advance(10);
    assert.deepEqual(responses(h.take()), []);
  });

  test('the last registrar gets the full transaction timeout (no shorter failover timer)', () => {
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET() });
    h.server.registrars?.report(
      { proto: 'udp', address: '10.0.0.1', port: 5070 },
      { ok: false, why: 'timeout', failedOver: false },
    );
    h.inject(request('REGISTER', 'alice'), UAC);
    h.clock.advance(2000);
    const moved = requests(h.take()).filter((s) => dest(s) === R2);
    assert.equal(moved.length, 1);
    h.clock.advance(20_000);
    assert.deepEqual(responses(h.take()), [], 'still waiting on the last one');
    h.clock.advance(12_000);
    assert.deepEqual(responses(h.take()).map(firstLine), ['SIP/2.0 408 Request Timeout']);
  });

  test('probing: OPTIONS every interval; threshold failures take one down (one log line), skipped, back up when it answers', async () => {
    const logger = new CapturingLogger();
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET(), logger });
    await h.server.listen();
    const probeRound = (answerFrom: string[]): void => {
      // the probe timer runs every 10 s from the start
      h.clock.advance(10_000 - (h.clock.now() % 10_000));
      const probes = requests(h.take()).filter(
        (s) => s.msg.isRequest && firstLine(s).startsWith('OPTIONS'),
      );
      assert.deepEqual(probes.map(dest).sort(), [R1, R2]);
      for (const p of probes)
        if (answerFrom.includes(dest(p))) h.inject(answer(p, 200, 'OK'), dest(p));
      h.clock.advance(2000);
      h.take();
    };
    probeRound([R1, R2]);
    assert.equal(h.server.registrars?.view()[0]?.lastResult, '200');
    probeRound([R2]);
    assert.equal(h.server.registrars?.view()[0]?.state, 'up', 'one failure is not enough');
    probeRound([R2]);
    const r1 = h.server.registrars?.view()[0];
    assert.equal(r1?.state, 'down');
    assert.equal(r1?.lastResult, 'timeout');
    assert.equal(logger.matching(/is down after 2 failures/).length, 1);
    // down: skipped at once
    h.inject(request('REGISTER', 'alice', 'z9hG4bK-c2', 'c2@uac'), UAC);
    assert.deepEqual(requests(h.take()).map(dest), [R2]);
    probeRound([R2]);
    assert.equal(logger.matching(/is down after/).length, 1, 'one line per change of state');
    probeRound([R1, R2]);
    assert.equal(h.server.registrars?.view()[0]?.state, 'up');
    assert.equal(logger.matching(/10\.0\.0\.1:5070 is up/).length, 1);
    h.inject(request('REGISTER', 'alice', 'z9hG4bK-c3', 'c3@uac'), UAC);
    assert.deepEqual(requests(h.take()).map(dest), [R1]);
    await h.server.close();
  });

  test('every registrar down: 503 at once, nothing sent', () => {
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET({ probeThreshold: 1 }) });
    for (const address of ['10.0.0.1', '10.0.0.2'])
      h.server.registrars?.report(
        { proto: 'udp', address, port: 5070 },
        { ok: false, why: 'timeout', failedOver: false },
      );
    h.inject(request('REGISTER', 'alice'), UAC);
    const out = h.take();
    assert.deepEqual(requests(out), []);
    assert.deepEqual(out.map(firstLine), ['SIP/2.0 503 No Registrar Available']);
  });

  test('a failed-over request counts towards down (passive detection under load)', () => {
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET() });
    h.transport.unreachable.add(`udp:${R1}`);
    for (const n of [1, 2]) {
      h.inject(request('REGISTER', 'alice', `z9hG4bK-p${n}`, `p${n}@uac`), UAC);
      assert.deepEqual(requests(h.take()).map(dest), [R2]);
    }
    assert.equal(h.server.registrars?.view()[0]?.state, 'down');
    h.transport.unreachable.clear();
    h.inject(request('REGISTER', 'alice', 'z9hG4bK-p3', 'p3@uac'), UAC);
    assert.deepEqual(requests(h.take()).map(dest), [R2], 'no attempt at the down one');
    assert.equal(h.server.core.stats.nextHopFailovers, 2);
  });

  test('a 503 to a request fails it over, but counts against nobody (it may be about that request)', () => {
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET({ probeThreshold: 1 }) });
    h.inject(request('REGISTER', 'alice'), UAC);
    const [first] = requests(h.take());
    assert.ok(first);
    h.inject(answer(first, 503, 'Service Unavailable'), R1);
    const [second] = requests(h.take());
    assert.equal(second === undefined ? '' : dest(second), R2);
    const r1 = h.server.registrars?.view()[0];
    assert.deepEqual([r1?.state, r1?.failures, r1?.failovers], ['up', 0, 1]);
  });

  test('an INVITE: 100 Trying from the registrar ends the failover timer', () => {
    const h = harness({ script: relayTo(`sip:${R1}`), registrarSet: SET() });
    h.inject(request('INVITE', 'bob'), UAC);
    const [inv] = requests(h.take());
    assert.ok(inv);
    h.inject(answer(inv, 100, 'Trying'), R1);
    h.clock.advance(5000);
    assert.deepEqual(
      requests(h.take()).filter((s) => dest(s) === R2),
      [],
      'no second INVITE once the registrar answered',
    );
  });

  test('round_robin and hash policies', () => {
    const deps = (): ConstructorParameters<typeof DestinationSet>[1] => {
      const h = harness();
      return {
        layer: h.server.layer,
        transport: h.transport,
        clock: h.clock,
        logger: new CapturingLogger(),
        resolver: new Resolver(dnsA({})),
      };
    };
    const uris = [`sip:${R1}`, `sip:${R2}`, `sip:${R3}`];
    const reqFor = (user: string) => {
      const h = harness();
      let req: import('../../../src/message/message.js').SipRequest | undefined;
      h.server.core.setHandlers({
        request: (ctx) => {
          req = ctx.req;
        },
        failure: () => {},
        branchFailure: () => {},
      });
      h.inject(request('REGISTER', user, `z9hG4bK-${user}`, `${user}@uac`), UAC);
      assert.ok(req);
      return req;
    };
    const rr = new DestinationSet(
      {
        name: 'registrar',
        uris,
        policy: 'round_robin',
        probeInterval: 0,
        probeThreshold: 1,
        timeoutMs: 1000,
      },
      deps(),
    );
    const alice = reqFor('alice');
    const firsts = [0, 1, 2, 3].map((): string => {
      const p = rr.plan(alice, 'sip:alice@example.com') as { address: string }[];
      return p[0]?.address ?? '';
    });
    assert.deepEqual(firsts, ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.1']);

    const hs = new DestinationSet(
      {
        name: 'registrar',
        uris,
        policy: 'hash',
        probeInterval: 10,
        probeThreshold: 1,
        timeoutMs: 1000,
      },
      deps(),
    );
    const first = (user: string): string =>
      (hs.plan(reqFor(user), `sip:${user}@example.com`) as { address: string }[])[0]?.address ?? '';
    const users = Array.from({ length: 60 }, (_, i) => `u${i}`);
    const before = new Map(users.map((u) => [u, first(u)]));
    assert.deepEqual(
      users.map((u) => first(u)),
      users.map((u) => before.get(u)),
      'the same AoR, the same registrar',
    );
    const spread = new Set(before.values());
    assert.equal(spread.size, 3, 'AoRs spread over every registrar');
    // one goes down: only its AoRs move
    hs.report(
      { proto: 'udp', address: '10.0.0.2', port: 5070 },
      { ok: false, why: 'timeout', failedOver: false },
    );
    for (const u of users) {
      const now = first(u);
      if (before.get(u) !== '10.0.0.2') assert.equal(now, before.get(u), u);
      else assert.notEqual(now, '10.0.0.2', u);
    }
  });

  test('a DNS name: its addresses are the registrars, in SRV priority order with RFC 2782 weights', async () => {
    const dns: DnsApi = {
      resolveNaptr: () => Promise.resolve([]),
      resolveSrv: (n) =>
        n === '_sip._udp.regs.example.net'
          ? Promise.resolve([
              { priority: 20, weight: 0, port: 5070, name: 'c.example.net' },
              { priority: 10, weight: 1, port: 5070, name: 'a.example.net' },
              { priority: 10, weight: 3, port: 5070, name: 'b.example.net' },
            ])
          : Promise.resolve([]),
      resolve4: (h) =>
        Promise.resolve(
          {
            'a.example.net': ['10.0.0.1'],
            'b.example.net': ['10.0.0.2'],
            'c.example.net': ['10.0.0.3'],
          }[h] ?? [],
        ),
      resolve6: () => Promise.resolve([]),
    };
    // random 0.9 picks by the running sum: 0.9 * 5 = 4 -> b (1 + 3 = 4) before a
    const h = harness({
      script: relayTo('sip:regs.example.net'),
      resolver: new Resolver(dns, 30_000, () => 0.9),
      registrarSet: SET({ du: 'sip:regs.example.net', uris: ['sip:regs.example.net'] }),
    });
    await h.server.listen();
    await h.settle();
    assert.deepEqual(
      h.server.registrars?.view().map((r) => `${r.uri} ${r.source}`),
      [
        'sip:10.0.0.1:5070 sip:regs.example.net',
        'sip:10.0.0.2:5070 sip:regs.example.net',
        'sip:10.0.0.3:5070 sip:regs.example.net',
      ],
    );
    h.inject(request('REGISTER', 'alice'), UAC);
    await h.settle();
    assert.deepEqual(requests(h.take()).map(dest), [R2]);
    h.clock.advance(2000);
    assert.deepEqual(
      requests(h.take())
        .map(dest)
        .filter((d) => d !== R2),
      [R1],
    );
    // a request from an address the name resolves to comes from a registrar (permissions group 3)
    assert.equal(h.server.permissions.allowSourceAddress(3, '10.0.0.3', 5070), true);
    assert.equal(h.server.permissions.allowSourceAddress(3, '10.0.0.9', 5070), false);
    await h.server.close();
  });
});
