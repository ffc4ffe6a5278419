// Issue 3 §4: flowgate as a stateful proxy between real SIPp user agents, over UDP and TCP:
// UAC (sipp) -> flowgate (in process, real sockets) -> UAS (sipp). Also issue 2: the default
// static script answers OPTIONS with 200 and an INVITE with 501.
// Bounded: every sipp run has a call count and a time bound; every process is stopped in after().
import assert from 'node:assert/strict';
import { after, describe, type TestContext, test } from 'node:test';
import { defineScript, type Script } from '../../src/script/api.js';
import type { Proto } from '../../src/transport/types.js';
import { proxyPreamble } from '../support/proxy-script.js';
import {
  type FlowgatePeer,
  headerValues,
  type SippMessage,
  type SippProcess,
  type SippResult,
  type SippTransport,
  sippSkip,
  startFlowgate,
  startSipp,
  stopAllPeers,
} from './peers.js';

/** Where the proxy sends a call, by Request-URI user (the UAC's `-s`). */
interface Target {
  readonly first: string;
  /** The serial-fork target when the first branch times out without any reply. */
  readonly next?: string | undefined;
}

/**
 * A small stateful proxy script in the seed's style (the opening of test/support/proxy-script.ts),
 * `$du` to the UAS, and a failure route that forks serially on a timeout without reply.
 */
function proxyScript(targets: ReadonlyMap<string, Target>): Script {
  return defineScript({
    request_route(ctx) {
      proxyPreamble(ctx);
      const t = targets.get(ctx.$rU ?? '');
      if (t === undefined) {
        ctx.sl_send_reply(404, 'No such target');
        return;
      }
      ctx.$du = t.first;
      ctx.t_on_failure('NEXT');
      if (!ctx.t_relay()) ctx.sl_reply_error();
    },
    failure_route: {
      NEXT(ctx) {
        const t = targets.get(ctx.$rU ?? '');
        if (t?.next === undefined) return;
        if (ctx.t_check_status('408') && ctx.t_branch_timeout() && !ctx.t_branch_replied()) {
          ctx.$du = t.next;
          ctx.t_relay();
        }
      },
    },
  });
}

const UAC_IP = '127.0.56.1';
const UAS_IP = '127.0.56.2';
const UAS2_IP = '127.0.56.3';

const sippTransport = (p: Proto): SippTransport => (p === 'udp' ? 'u1' : 't1');

/** Asserts that a sipp run ended with every call successful. */
function assertAllPassed(r: SippResult, calls: number): void {
  assert.ok(r.stats, `no statistics: ${r.summary()}`);
  assert.equal(r.stats.failed, 0, r.summary());
  assert.equal(r.stats.successful, calls, r.summary());
  assert.equal(r.exitCode, 0, r.summary());
}

const sent = (r: SippResult, re: RegExp): SippMessage[] =>
  r.messages.filter((m) => m.dir === 'sent' && re.test(m.line));
const received = (r: SippResult, re: RegExp): SippMessage[] =>
  r.messages.filter((m) => m.dir === 'received' && re.test(m.line));
const topBranch = (m: SippMessage): string | undefined =>
  /;branch=([^;,\s]+)/.exec(headerValues(m.text, 'Via')[0] ?? '')?.[1];

interface CallSetup {
  readonly proto: Proto;
  readonly uac: string;
  /** One or two UAS scenarios (the second is the serial-fork target). */
  readonly uas: readonly string[];
  readonly calls?: number;
  readonly rate?: number;
  readonly uacLost?: number;
  readonly uasLost?: number;
  readonly frTimer?: number;
  readonly timeoutMs?: number;
}

interface CallRun {
  readonly fg: FlowgatePeer;
  readonly uac: SippResult;
  readonly uas: readonly SippResult[];
  readonly uasPeers: readonly SippProcess[];
  /** The Record-Route value flowgate inserts on this transport. */
  readonly rr: string;
}

/** Starts flowgate with the proxy script, the UAS(es), then the UAC; waits for all of them. */
async function runCall(t: TestContext, s: CallSetup): Promise<CallRun> {
  const targets = new Map<string, Target>();
  const fg = await startFlowgate({
    script: proxyScript(targets),
    ...(s.frTimer === undefined ? {} : { timers: { frTimer: s.frTimer } }),
  });
  t.after(() => fg.close());
  const calls = s.calls ?? 1;
  const timeoutMs = s.timeoutMs ?? 20_000;
  const tr = sippTransport(s.proto);
  const uasPeers: SippProcess[] = [];
  for (const [i, sc] of s.uas.entries()) {
    uasPeers.push(
      await startSipp(sc, {
        transport: tr,
        localIp: i === 0 ? UAS_IP : UAS2_IP,
        calls,
        timeoutMs,
        ...(s.uasLost === undefined ? {} : { lost: s.uasLost }),
      }),
    );
  }
  const [first, second] = uasPeers;
  assert.ok(first);
  const service = `${s.uac.replace(/\.xml$/, '')}-${s.proto}`;
  targets.set(service, { first: first.uri(), next: second?.uri() });
  const uac = await (
    await startSipp(s.uac, {
      target: fg.hostport(s.proto),
      transport: tr,
      localIp: UAC_IP,
      service,
      calls,
      timeoutMs,
      ...(s.rate === undefined ? {} : { rate: s.rate, limit: calls }),
      ...(s.uacLost === undefined ? {} : { lost: s.uacLost }),
    })
  ).done;
  // a UAS ends after its last call; bound the wait, then stop it
  const uas = await Promise.all(
    uasPeers.map(async (p) => {
      const timer = setTimeout(() => void p.stop(), 8000);
      const r = await p.done;
      clearTimeout(timer);
      return r;
    }),
  );
  const l = fg.listener(s.proto);
  const rr = `<sip:${l.address}:${l.port}${s.proto === 'udp' ? '' : ';transport=tcp'};lr>`;
  return { fg, uac, uas, uasPeers, rr };
}

const skip = sippSkip();

describe('proxy interop: sipp UAC -> flowgate (stateful proxy script) -> sipp UAS', {
  skip,
}, () => {
  after(stopAllPeers);

  for (const proto of ['udp', 'tcp'] as const) {
    describe(`over ${proto.toUpperCase()}`, () => {
      test('INVITE/100/180/200/ACK/BYE with Record-Route: the route set is used by ACK and BYE', async (t) => {
        const calls = 3;
        const { uac, uas, rr, uasPeers } = await runCall(t, {
          proto,
          uac: 'uac-invite-bye',
          uas: ['uas-answer'],
          calls,
          rate: 10,
        });
        const [u] = uas;
        assert.ok(u);
        assertAllPassed(uac, calls);
        assertAllPassed(u, calls);
        // the UAS sees our Record-Route and one Max-Forwards hop less; our Via on top of the UAC's
        const invites = received(u, /^INVITE /);
        assert.equal(invites.length, calls, u.summary());
        for (const inv of invites) {
          assert.deepEqual(headerValues(inv.text, 'Record-Route'), [rr]);
          assert.deepEqual(headerValues(inv.text, 'Max-Forwards'), ['69']);
          const vias = headerValues(inv.text, 'Via');
          assert.equal(vias.length, 2, inv.text);
          assert.match(
            vias[0] ?? '',
            new RegExp(
              `^SIP/2\\.0/${proto.toUpperCase()} 127\\.0\\.0\\.1:\\d+;branch=z9hG4bK`,
              'i',
            ),
          );
          assert.match(vias[1] ?? '', /;received=127\.0\.56\.1/);
        }
        // the 200 comes back with the Record-Route, and the UAC routes ACK and BYE through it
        for (const ok of received(uac, /^SIP\/2\.0 200 /).filter((m) =>
          /INVITE/.test(headerValues(m.text, 'CSeq')[0] ?? ''),
        )) {
          assert.deepEqual(headerValues(ok.text, 'Record-Route'), [rr]);
          assert.equal(headerValues(ok.text, 'Via').length, 1, 'our Via removed');
        }
        for (const m of [...sent(uac, /^ACK /), ...sent(uac, /^BYE /)])
          assert.deepEqual(headerValues(m.text, 'Route'), [rr], m.text);
        assert.equal(sent(uac, /^ACK /).length, calls);
        // loose_route consumed our Route; the request goes to the UAS Contact (the R-URI)
        const uasUri = new RegExp(
          `^(ACK|BYE) sip:uas@${uasPeers[0]?.hostport.replace(/\./g, '\\.')};transport=${proto} SIP/2\\.0$`,
          'i',
        );
        const inDialog = [...received(u, /^ACK /), ...received(u, /^BYE /)];
        assert.equal(inDialog.length, calls * 2, u.summary());
        for (const m of inDialog) {
          assert.match(m.line, uasUri);
          assert.deepEqual(headerValues(m.text, 'Route'), [], 'no Route left');
        }
      });

      test('CANCEL during ringing: 200 to the CANCEL, CANCEL to the UAS, 487 relayed, ACKed (RFC 3261 §16.10)', async (t) => {
        const { uac, uas } = await runCall(t, {
          proto,
          uac: 'uac-cancel',
          uas: ['uas-ring-forever'],
        });
        const [u] = uas;
        assert.ok(u);
        assertAllPassed(uac, 1);
        assertAllPassed(u, 1);
        const [inv] = received(u, /^INVITE /);
        const [cancel] = received(u, /^CANCEL /);
        assert.ok(inv && cancel, u.summary());
        assert.equal(
          topBranch(cancel),
          topBranch(inv),
          'CANCEL has the branch of the INVITE it cancels (RFC 3261 §9.1)',
        );
        assert.equal(
          headerValues(cancel.text, 'Via').length,
          1,
          'a CANCEL the proxy builds has only its own Via',
        );
        const [ack] = received(u, /^ACK /);
        assert.ok(ack, u.summary());
        assert.equal(
          topBranch(ack),
          topBranch(inv),
          'hop-by-hop ACK of the 487 (RFC 3261 §17.1.1.3)',
        );
        assert.equal(received(uac, /^SIP\/2\.0 487 /).length, 1, uac.summary());
      });

      test('a 486 Busy Here from the UAS is relayed to the UAC; the proxy ACKs it hop by hop', async (t) => {
        const { uac, uas } = await runCall(t, { proto, uac: 'uac-expect-486', uas: ['uas-busy'] });
        const [u] = uas;
        assert.ok(u);
        assertAllPassed(uac, 1);
        assertAllPassed(u, 1);
        const [inv] = received(u, /^INVITE /);
        const [ack] = received(u, /^ACK /);
        assert.ok(inv && ack, u.summary());
        assert.equal(topBranch(ack), topBranch(inv));
        const [busy] = received(uac, /^SIP\/2\.0 486 /);
        assert.ok(busy, uac.summary());
        assert.equal(headerValues(busy.text, 'Via').length, 1, 'our Via removed');
      });

      test('a UAS that never answers: fr_timer, failure route, serial fork to a second UAS; the call completes', async (t) => {
        const { uac, uas, uasPeers } = await runCall(t, {
          proto,
          uac: 'uac-invite-bye',
          uas: ['uas-silent', 'uas-answer'],
          frTimer: 3000,
        });
        const [silent, answer] = uas;
        assert.ok(silent && answer);
        assertAllPassed(uac, 1);
        assertAllPassed(answer, 1);
        assertAllPassed(silent, 1);
        assert.ok(received(silent, /^INVITE /).length >= 1, silent.summary());
        assert.deepEqual(
          received(silent, /^CANCEL /),
          [],
          'no CANCEL to a branch that never replied (RFC 3261 §16.10, §9.1)',
        );
        t.diagnostic(
          `INVITEs seen by the silent UAS: ${received(silent, /^INVITE /).length} (UDP retransmissions until fr_timer)`,
        );
        // the dialog is with the second UAS
        const [ok] = received(uac, /^SIP\/2\.0 200 /);
        assert.ok(ok);
        assert.match(
          headerValues(ok.text, 'Contact')[0] ?? '',
          new RegExp(`@${uasPeers[1]?.hostport.replace(/\./g, '\\.')}`),
        );
        assert.equal(received(answer, /^BYE /).length, 1, answer.summary());
      });
    });
  }

  test('packet loss over UDP (sipp -lost on both sides) is absorbed by retransmissions', async (t) => {
    const calls = 12;
    const { uac, uas } = await runCall(t, {
      proto: 'udp',
      uac: 'uac-invite-bye',
      uas: ['uas-answer'],
      calls,
      rate: 10,
      uasLost: 10,
      uacLost: 5,
      timeoutMs: 40_000,
    });
    const [u] = uas;
    assert.ok(u);
    assertAllPassed(uac, calls);
    assertAllPassed(u, calls);
    t.diagnostic(
      `lost by sipp (sent/received): UAC ${uac.lost.sent}/${uac.lost.received}, UAS ${u.lost.sent}/${u.lost.received}; ` +
        `retransmissions: UAC ${uac.stats?.retransmissions ?? '?'}, UAS ${u.stats?.retransmissions ?? '?'}`,
    );
  });

  test('100 Trying carries rport and received in the Via (RFC 3581 §4)', async (t) => {
    const { uac } = await runCall(t, { proto: 'udp', uac: 'uac-invite-bye', uas: ['uas-answer'] });
    const [trying] = received(uac, /^SIP\/2\.0 100 /);
    assert.ok(trying, uac.summary());
    assert.match(headerValues(trying.text, 'Via')[0] ?? '', /;rport=\d+/, trying.text);
    assert.match(headerValues(trying.text, 'Via')[0] ?? '', /;received=127\.0\.56\.1/, trying.text);
  });
});

describe('default static script (issue 2): OPTIONS 200, everything else 501', { skip }, () => {
  after(stopAllPeers);

  for (const proto of ['udp', 'tcp'] as const) {
    test(`over ${proto.toUpperCase()}: sipp OPTIONS gets 200 and an INVITE gets 501`, async () => {
      const fg = await startFlowgate();
      try {
        const tr = sippTransport(proto);
        const opts = await (
          await startSipp('uac-options', {
            target: fg.hostport(proto),
            transport: tr,
            localIp: UAC_IP,
            calls: 3,
            rate: 10,
            timeoutMs: 10_000,
          })
        ).done;
        assertAllPassed(opts, 3);
        const inv = await (
          await startSipp('uac-expect-501', {
            target: fg.hostport(proto),
            transport: tr,
            localIp: UAC_IP,
            calls: 1,
            timeoutMs: 10_000,
          })
        ).done;
        assertAllPassed(inv, 1);
      } finally {
        await fg.close();
      }
    });
  }
});
