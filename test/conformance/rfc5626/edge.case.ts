// The edge proxy's conformance suite (outbound.md §6.2–§6.6 and the edge's §6.9 items), one suite
// for three forms (issue 11): the built-in TypeScript edge, the peer's edge.cfg in flowgate, and
// Kamailio running edge.cfg (test/support/seed-forms.ts). A test that does not apply to a form is
// skipped there with the reason; where flowgate deliberately differs from Kamailio
// (docs/kamailio-differences.md) the test asserts each side and names the decision.
//
// E = the edge (UDP/TCP 127.0.0.1:5060, WS 127.0.0.1:8080), R = the registrar at 127.0.0.2:5060
// (the file's REGISTRAR_IP:REGISTRAR_PORT), UA behind NAT at 192.0.2.7:40000.
// Not a test file: the runners are edge.test.ts (in-process forms) and edge-kamailio.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '../../../src/message/message.js';
import { scanMessage } from '../../../src/message/scanner.js';
import { decodeFlowToken, encodeFlowToken } from '../../../src/modules/outbound/flow-token.js';
import { defineScript } from '../../../src/script/api.js';
import { listener } from '../../support/harness.js';
import {
  type EdgeOptions,
  type EdgeTarget,
  type Except,
  FORM_TITLE,
  skipFor,
  WHY,
  type Wire,
  type WireSent,
} from '../../support/seed-forms.js';

const E = '127.0.0.1';
const R = '127.0.0.2:5060';
const UA = '192.0.2.7:40000';

/** The harness addresses a Kamailio run needs sockets for in every test (see edge-kamailio.test.ts). */
export const EDGE_TEST_SOCKETS = [UA, '192.0.2.200:5080'] as const;

function register(
  o: {
    contact?: string;
    via2?: boolean;
    expires?: string;
    extra?: string;
    branch?: string;
    callId?: string;
    via?: string;
  } = {},
): string {
  return `REGISTER sip:example.com SIP/2.0
Via: ${o.via ?? `SIP/2.0/UDP ${UA}`};branch=${o.branch ?? 'z9hG4bK-r1'};rport${o.via2 ? '\nVia: SIP/2.0/UDP 198.51.100.9;branch=z9hG4bK-px' : ''}
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:alice@example.com>
Call-ID: ${o.callId ?? 'reg-1@ua'}
CSeq: 1 REGISTER
${o.contact === '' ? '' : `Contact: ${o.contact ?? '<sip:alice@192.0.2.7:40000;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"'}\n`}Supported: path, outbound
${o.expires === undefined ? 'Expires: 600\n' : o.expires}${o.extra ?? ''}Content-Length: 0

`;
}

function invite(
  o: {
    from?: 'ua' | 'registrar';
    route?: string;
    contact?: string;
    supported?: string | null;
    ruri?: string;
    toTag?: string;
    method?: string;
    branch?: string;
    maxForwards?: string | null;
    callId?: string;
    cseq?: number;
  } = {},
): string {
  const method = o.method ?? 'INVITE';
  const fromR = o.from === 'registrar';
  const vias = fromR
    ? `Via: SIP/2.0/UDP ${R};branch=${o.branch ?? 'z9hG4bK-rx'}\nVia: SIP/2.0/UDP 192.0.2.99:5060;branch=z9hG4bK-caller`
    : `Via: SIP/2.0/UDP ${UA};branch=${o.branch ?? 'z9hG4bK-i1'};rport`;
  const mf =
    o.maxForwards === undefined
      ? 'Max-Forwards: 70\n'
      : o.maxForwards === null
        ? ''
        : `Max-Forwards: ${o.maxForwards}\n`;
  // the Request-URI a request has on that leg: the registrar sends to the UA's contact; a UA's
  // in-dialog request goes to the remote target; an initial one to the AoR. (example.com is the
  // file's alias: an R-URI naming us in a routed request means "a strict router before us".)
  const ruri =
    o.ruri ??
    (fromR
      ? 'sip:alice@192.0.2.7:40000;ob'
      : o.toTag
        ? 'sip:bob@192.0.2.55'
        : 'sip:bob@example.com');
  return `${method} ${ruri} SIP/2.0
${vias}
${o.route === undefined ? '' : `Route: ${o.route}\n`}${mf}From: <sip:alice@example.com>;tag=a1
To: <sip:bob@example.com>${o.toTag ? `;tag=${o.toTag}` : ''}
Call-ID: ${o.callId ?? 'inv-1@ua'}
CSeq: ${o.cseq ?? 1} ${method}
Contact: ${o.contact ?? '<sip:alice@192.0.2.7:40000;ob>'}
${o.supported === null ? '' : `Supported: ${o.supported ?? 'outbound'}\n`}Content-Length: 0

`;
}

function reply(to: WireSent, status: number, extra = '', toTag = 'uas', reason = 'X'): string {
  const m = to.msg;
  const vias = m
    .getHeaders('Via')
    .map((v) => `Via: ${v}`)
    .join('\n');
  const tag = status > 100 && !/;tag=/.test(m.getHeader('To') ?? '') ? `;tag=${toTag}` : '';
  return `SIP/2.0 ${status} ${reason}
${vias}
From: ${m.getHeader('From')}
To: ${m.getHeader('To')}${tag}
Call-ID: ${m.callId}
CSeq: ${m.getHeader('CSeq')}
${extra}Content-Length: 0

`;
}

const reqs = (s: WireSent[]) =>
  s.filter((x) => x.msg.isRequest) as (WireSent & { msg: SipRequest })[];
const resps = (s: WireSent[]) =>
  s.filter((x) => !x.msg.isRequest) as (WireSent & { msg: SipResponse })[];
const firstLine = (s: WireSent): string => s.msg.toString().split('\r\n')[0] ?? '';
const finals = (s: WireSent[]) => resps(s).filter((r) => r.msg.status >= 200);

/** The flow token's fields as they are in its bytes (outbound.md §1.3.1: MAC(10) proto(1) ip port ip port). */
function tokenLayout(tok: string): { proto: number; local: string; remote: string } {
  const b = Buffer.from(tok, 'base64');
  return {
    proto: b[10] ?? -1,
    local: `${b.subarray(11, 15).join('.')}:${b.readUInt16BE(15)}`,
    remote: `${b.subarray(17, 21).join('.')}:${b.readUInt16BE(21)}`,
  };
}

const PROTO_BYTE = { udp: 1, tcp: 2, ws: 5 } as const;

/** Runs the edge suite against one form. */
export function runEdgeSuite(t: EdgeTarget): void {
  const form = t.form;
  const kamailio = form === 'kamailio';
  const it = (name: string, except: Except | undefined, fn: () => Promise<void>): void => {
    test(name, { skip: skipFor(form, except) }, fn);
  };
  const edge = (o?: EdgeOptions): Promise<Wire> => t.edge(o);

  /**
   * The token the edge writes for a flow. In-process: encoded with the edge's key; Kamailio (whose
   * key is random): the one it puts in the Path of a REGISTER sent over that flow.
   */
  async function tokenOf(
    h: Wire,
    flow: { proto?: 'udp' | 'tcp' | 'ws'; port?: number; remote?: string; flowId?: string } = {},
  ): Promise<string> {
    const proto = flow.proto ?? 'udp';
    const remote = flow.remote ?? UA;
    if (t.key !== undefined) {
      const [a, p] = remote.split(':') as [string, string];
      return encodeFlowToken(t.key, {
        proto,
        local: { address: E, port: flow.port ?? (proto === 'ws' ? 8080 : 5060) },
        remote: { address: a, port: Number(p) },
      });
    }
    if (flow.port !== undefined && flow.port !== 5060)
      throw new Error('a token for another socket needs the key');
    const n = Math.random().toString(36).slice(2, 8);
    h.inject(
      register({
        via: `SIP/2.0/${proto.toUpperCase()} ${remote}`,
        branch: `z9hG4bK-tok${n}`,
        callId: `tok-${n}@ua`,
        contact: `<sip:alice@${remote};ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-00000000${n.padEnd(4, '0').slice(0, 4)}>"`,
      }),
      remote,
      flow.flowId === undefined ? {} : { flowId: flow.flowId },
    );
    const [fwd] = reqs(await h.take());
    assert.ok(fwd, 'the REGISTER for the token was relayed');
    const m = /^<sip:([^@]+)@/.exec(fwd.msg.getHeader('Path') ?? '');
    assert.ok(m, `a token in the Path: ${fwd.msg.getHeader('Path')}`);
    h.inject(reply(fwd, 200, 'Require: outbound\n', 'tok'), R);
    assert.equal(resps(await h.take()).length, 1, 'the 200 reached the UA');
    return m[1] as string;
  }

  async function pathOf(h: Wire, raw: string, from = UA): Promise<string | undefined> {
    h.inject(raw, from);
    const [fwd] = reqs(await h.take());
    assert.ok(fwd, 'REGISTER forwarded');
    assert.equal(fwd.to, `w0/u0/${R}`);
    return fwd.msg.getHeader('Path');
  }

  async function rrOf(h: Wire, raw: string, from = UA): Promise<string[]> {
    h.inject(raw, from);
    const [fwd] = reqs(await h.take());
    assert.ok(fwd, 'request forwarded');
    return fwd.msg.getHeaders('Record-Route');
  }

  async function registerAndReply(
    h: Wire,
    status: number,
    extra: string,
    req = register(),
  ): Promise<(WireSent & { msg: SipResponse })[]> {
    h.inject(req, UA);
    const [fwd] = reqs(await h.take());
    assert.ok(fwd);
    h.inject(reply(fwd, status, extra, 'reg'), R);
    return resps(await h.take());
  }

  describe(`edge conformance — ${FORM_TITLE[form]}`, () => {
    describe('when outbound applies (outbound.md §1.2, conformance §6.2)', () => {
      it(
        '§6.2 #14 REGISTER, 1 Via, reg-id: token + ;ob in Path; the token names the UA flow',
        undefined,
        async () => {
          const h = await edge();
          const p = await pathOf(h, register());
          const m = /^<sip:([^@]+)@127\.0\.0\.1;lr;ob>$/.exec(p ?? '');
          assert.ok(m, p);
          // the token's bytes: UDP, the edge's socket, the UA's address (as the edge sees them)
          assert.deepEqual(tokenLayout(m[1] as string), {
            proto: PROTO_BYTE.udp,
            local: `${h.addressOf(E)}:5060`,
            remote: `${h.addressOf('192.0.2.7')}:40000`,
          });
          if (t.key !== undefined)
            assert.deepEqual(decodeFlowToken(t.key, m[1]), {
              ok: true,
              token: {
                proto: 'udp',
                local: { address: E, port: 5060 },
                remote: { address: '192.0.2.7', port: 40000 },
              },
            });
        },
      );

      it('§6.2 #15 REGISTER without reg-id: Path without token', undefined, async () => {
        assert.equal(
          await pathOf(await edge(), register({ contact: '<sip:alice@192.0.2.7:40000>' })),
          '<sip:127.0.0.1;lr>',
        );
      });

      it('§6.2 #16 REGISTER with 2 Vias: no token, no ;ob', undefined, async () => {
        assert.equal(await pathOf(await edge(), register({ via2: true })), '<sip:127.0.0.1;lr>');
      });

      it(
        '§6.2 #17 Contact: * with Expires: 0 is outbound (Kamailio master; 5.6: no token)',
        undefined,
        async () => {
          const p = await pathOf(await edge(), register({ contact: '*', expires: 'Expires: 0\n' }));
          if (kamailio)
            // outbound.md §0.2: the peer is Debian's 5.6.3, which does not treat it as outbound
            assert.equal(p, '<sip:127.0.0.1;lr>');
          else assert.match(p ?? '', /^<sip:[^@]{32}@127\.0\.0\.1;lr;ob>$/);
        },
      );

      it('§6.2 #18 Contact: * without Expires: no token, no crash', undefined, async () => {
        assert.equal(
          await pathOf(await edge(), register({ contact: '*', expires: '' })),
          '<sip:127.0.0.1;lr>',
        );
      });

      it('§6.2 #19 reg-id as a URI parameter does not count', undefined, async () => {
        assert.equal(
          await pathOf(await edge(), register({ contact: '<sip:alice@192.0.2.7:40000;reg-id=1>' })),
          '<sip:127.0.0.1;lr>',
        );
      });

      it(
        '§6.2 #20 INVITE, 1 Via, Supported: outbound, Contact ;ob: Record-Route with a new token',
        undefined,
        async () => {
          const h = await edge();
          const tok = await tokenOf(h);
          assert.deepEqual(await rrOf(h, invite()), [`<sip:${tok}@127.0.0.1;lr>`]);
        },
      );

      it('§6.2 #21 no Supported header: still outbound', undefined, async () => {
        const h = await edge();
        const tok = await tokenOf(h);
        assert.deepEqual(await rrOf(h, invite({ supported: null })), [`<sip:${tok}@127.0.0.1;lr>`]);
      });

      it('§6.2 #22 Supported without outbound: Record-Route without token', undefined, async () => {
        assert.deepEqual(await rrOf(await edge(), invite({ supported: '100rel' })), [
          '<sip:127.0.0.1;lr>',
        ]);
      });

      it('§6.2 #23 ;ob as a Contact header parameter does not count', undefined, async () => {
        assert.deepEqual(
          await rrOf(await edge(), invite({ contact: '<sip:alice@192.0.2.7:40000>;ob' })),
          ['<sip:127.0.0.1;lr>'],
        );
      });

      it(
        '§6.2 #24 a foreign top Route: no token (Q-E9), relayed to the registrar (seed)',
        undefined,
        async () => {
          assert.deepEqual(
            await rrOf(
              await edge({ seedStrict: true }),
              invite({ route: '<sip:other.example.net;lr>' }),
            ),
            ['<sip:127.0.0.1;lr>'],
          );
        },
      );

      it('§6.2 #24 flowgate refuses a foreign Route from a client: 403 (issue 10)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const h = await edge();
        h.inject(invite({ route: '<sip:other.example.net;lr>' }), UA);
        assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
      });

      it(
        '§6.2 #25 INVITE from the registrar with the UA token: Record-Route copies the token; sent to the UA flow',
        undefined,
        async () => {
          const h = await edge();
          const tok = await tokenOf(h);
          h.inject(
            invite({
              from: 'registrar',
              route: `<sip:${tok}@127.0.0.1;lr;ob>`,
              ruri: 'sip:alice@192.0.2.7:40000;ob',
            }),
            R,
          );
          const [fwd] = reqs(await h.take(2));
          assert.ok(fwd);
          assert.equal(fwd.to, `w0/u0/${UA}`);
          assert.deepEqual(fwd.msg.getHeaders('Record-Route'), [`<sip:${tok}@127.0.0.1;lr>`]);
          assert.equal(fwd.msg.getHeader('Route'), undefined);
        },
      );

      it(
        '§6.2 #26 INVITE from the token owner itself: a new token from the current flow',
        undefined,
        async () => {
          const h = await edge();
          const tok = await tokenOf(h);
          assert.deepEqual(await rrOf(h, invite({ route: `<sip:${tok}@127.0.0.1;lr;ob>` })), [
            `<sip:${tok}@127.0.0.1;lr>`,
          ]);
        },
      );

      it(
        '§6.2 #27 a top Route to us with ;gr is not "myself": no token (seed)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          const route = `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob;gr>`;
          assert.deepEqual(await rrOf(h, invite({ route })), ['<sip:127.0.0.1;lr>']);
        },
      );

      it('§6.2 #27 flowgate refuses that Route from a client: 403 (issue 10)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const h = await edge();
        h.inject(invite({ route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob;gr>` }), UA);
        assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
      });

      /** setflag(1 or 2); add_path(); $du = registrar; t_relay() — in TypeScript and in .cfg. */
      const flagScript = (flag: 1 | 2) => ({
        ts: defineScript({
          request_route(ctx) {
            ctx.setflag(flag);
            ctx.add_path();
            ctx.$du = `sip:${R}`;
            ctx.t_relay();
          },
        }),
        cfg: `loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "path.so"
loadmodule "outbound.so"
request_route {
	setflag(${flag});
	add_path();
	$du = "sip:${R}";
	t_relay();
}
`,
      });
      const FLAGS = { force_outbound_flag: 1, force_no_outbound_flag: 2 };

      it('§6.2 #28 force_outbound_flag on a 2-Via REGISTER: token without ;ob', {
        kamailio: WHY.ownScript,
      }, async () => {
        const h = await edge({ script: flagScript(1), ob: FLAGS });
        assert.match(
          (await pathOf(h, register({ via2: true }))) ?? '',
          /^<sip:[^@]{32}@127\.0\.0\.1;lr>$/,
        );
      });

      it('§6.2 #29 force_no_outbound_flag on an outbound REGISTER: no token', {
        kamailio: WHY.ownScript,
      }, async () => {
        const h = await edge({ script: flagScript(2), ob: FLAGS });
        assert.equal(await pathOf(h, register()), '<sip:127.0.0.1;lr>');
      });

      it('an invalid flag index fails start-up with a clear error', {
        kamailio: WHY.modules,
      }, async () => {
        await assert.rejects(
          () => edge({ ob: { force_outbound_flag: 99 } }),
          /force_outbound_flag must be -1 \(off\) or a message flag 0\.\.63, got 99/,
        );
      });
    });

    describe('Path and Record-Route formats (§6.3)', () => {
      it('§6.3 #30 Path over UDP on 5060, appended after the last header', undefined, async () => {
        const h = await edge();
        h.inject(register(), UA);
        const [fwd] = reqs(await h.take());
        const lines = fwd?.msg.toString().split('\r\n') ?? [];
        assert.match(
          lines.find((l) => l.startsWith('Path:')) ?? '',
          /^Path: <sip:[^@]{32}@127\.0\.0\.1;lr;ob>$/,
        );
      });

      it('§6.3 #31 Path towards a TCP registrar on another port: ;transport=tcp and :5070, lr then ob', {
        kamailio: WHY.listeners,
      }, async () => {
        const h = await edge({
          listeners: [listener(0, 'udp', E, 5060), listener(1, 'tcp', E, 5070)],
          registrar: '127.0.0.2:5060;transport=tcp',
        });
        h.inject(register(), UA);
        const [fwd] = reqs(await h.take());
        assert.match(
          fwd?.msg.getHeader('Path') ?? '',
          /^<sip:[^@]{32}@127\.0\.0\.1:5070;transport=tcp;lr;ob>$/,
        );
      });

      it('§6.3 #32 IPv6 addresses are bracketed in Path and in Record-Route', {
        kamailio: WHY.ipv6,
      }, async () => {
        const h = await edge({
          listeners: [listener(0, 'udp', '::1', 5060)],
          registrar: '[::1]:5070',
        });
        h.inject(register().replace(`${UA}`, '[::1]:40000'), '[::1]:40000');
        const [fwd] = reqs(await h.take());
        assert.match(fwd?.msg.getHeader('Path') ?? '', /^<sip:[^@]{64}@\[::1\];lr;ob>$/);
        // and the Record-Route of an INVITE from the same UA, to the registrar
        h.inject(
          invite().replace(`${UA}`, '[::1]:40000').replace('192.0.2.7:40000;ob', '[::1]:40000;ob'),
          '[::1]:40000',
        );
        const [inv] = reqs(await h.take());
        assert.equal(inv?.to, 'w0/u0/[::1]:5070');
        assert.deepEqual(
          inv?.msg.getHeaders('Record-Route').map((v) => v.replace(/sip:[^@]{64}@/, 'sip:TOKEN@')),
          ['<sip:TOKEN@[::1];lr>'],
        );
      });

      it(
        '§6.3 #33 a client Path header stays, ours goes before it (Q-E12, seed)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          h.inject(register({ extra: 'Path: <sip:client-proxy.example.com;lr>\n' }), UA);
          const [fwd] = reqs(await h.take());
          const paths = fwd?.msg.getHeaders('Path') ?? [];
          assert.equal(paths.length, 2);
          assert.match(paths[0] ?? '', /@127\.0\.0\.1;lr;ob>$/);
          assert.equal(paths[1], '<sip:client-proxy.example.com;lr>');
        },
      );

      it('§6.3 #33 flowgate removes a client Path before adding its own (issue 10)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        // RFC 3327 §5.1: Path is written by proxies; a client's own would choose how the registrar reaches it
        const s = await edge();
        s.inject(register({ extra: 'Path: <sip:client-proxy.example.com;lr>\n' }), UA);
        const [sf] = reqs(await s.take());
        const sp = sf?.msg.getHeaders('Path') ?? [];
        assert.equal(sp.length, 1);
        assert.match(sp[0] ?? '', /@127\.0\.0\.1;lr;ob>$/);
      });

      it(
        '§6.3 #34 same socket both ways: one Record-Route at the top of the header block',
        undefined,
        async () => {
          const h = await edge();
          h.inject(invite(), UA);
          const [fwd] = reqs(await h.take());
          const lines = fwd?.msg.toString().split('\r\n') ?? [];
          assert.match(lines[1] ?? '', /^Record-Route: <sip:[^@]{32}@127\.0\.0\.1;lr>$/);
          assert.match(lines[2] ?? '', /^Via: SIP\/2\.0\/UDP 127\.0\.0\.1;branch=/);
        },
      );

      it(
        '§6.3 #35 UA on TCP to the registrar on UDP: double Record-Route with r2=on and the same token, outgoing side on top',
        undefined,
        async () => {
          const h = await edge();
          const f = await h.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
          const tok = await tokenOf(h, { proto: 'tcp', remote: '192.0.2.7:40001', flowId: f.id });
          h.inject(
            invite().replace(`SIP/2.0/UDP ${UA}`, 'SIP/2.0/TCP 192.0.2.7:40001'),
            '192.0.2.7:40001',
            { flowId: f.id },
          );
          const [fwd] = reqs(await h.take());
          assert.equal(fwd?.to, `w0/u0/${R}`);
          assert.deepEqual(fwd?.msg.getHeaders('Record-Route'), [
            `<sip:${tok}@127.0.0.1;r2=on;lr>`,
            `<sip:${tok}@127.0.0.1;transport=tcp;r2=on;lr>`,
          ]);
        },
      );

      it(
        '§6.3 #35 registrar on UDP to the UA on TCP: top …;transport=tcp;r2=on;lr> (outgoing side), second …;r2=on;lr>, same token [V]',
        undefined,
        async () => {
          const h = await edge();
          const f = await h.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
          const tok = await tokenOf(h, { proto: 'tcp', remote: '192.0.2.7:40001', flowId: f.id });
          h.inject(
            invite({
              from: 'registrar',
              route: `<sip:${tok}@127.0.0.1;lr;ob>`,
              ruri: 'sip:alice@192.0.2.7:40001;transport=tcp;ob',
            }),
            R,
          );
          const [fwd] = reqs(await h.take(2));
          assert.equal(fwd?.to, f.id, 'sent over the UA connection');
          assert.deepEqual(fwd?.msg.getHeaders('Record-Route'), [
            `<sip:${tok}@127.0.0.1;transport=tcp;r2=on;lr>`,
            `<sip:${tok}@127.0.0.1;r2=on;lr>`,
          ]);
        },
      );

      const doubleRr = {
        ts: defineScript({
          request_route(ctx) {
            ctx.record_route();
            ctx.$var['second'] = ctx.record_route() ? 1 : ctx.$rc;
            ctx.$du = `sip:${R}`;
            ctx.t_relay();
          },
        }),
        cfg: `loadmodule "tm.so"
loadmodule "pv.so"
loadmodule "rr.so"
loadmodule "outbound.so"
request_route {
	record_route();
	if (record_route()) {
		$var(second) = 1;
	} else {
		$var(second) = $rc;
	}
	$du = "sip:${R}";
	t_relay();
}
`,
      };

      it('§6.3 #36 a second record_route() fails and adds nothing', {
        kamailio: WHY.ownScript,
      }, async () => {
        const h = await edge({ script: doubleRr });
        h.inject(invite(), UA);
        const [fwd] = reqs(await h.take());
        assert.equal(fwd?.msg.getHeaders('Record-Route').length, 1);
        assert.equal(h.harness?.server.core.vars['second'], -1);
      });

      it('§6.3 #37 Record-Route never carries ;ob', undefined, async () => {
        for (const rr of await rrOf(await edge(), invite())) assert.doesNotMatch(rr, /;ob/);
      });
    });

    describe('loose_route with flow tokens (§6.4)', () => {
      it(
        '§6.4 #38 initial INVITE from R with the token route: 100 to R, sent to the UA over UDP from the token socket',
        undefined,
        async () => {
          const h = await edge();
          h.inject(
            invite({ from: 'registrar', route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob>` }),
            R,
          );
          const out = await h.take(2);
          assert.deepEqual(
            resps(out).map((r) => r.msg.status),
            [100],
          );
          const [fwd] = reqs(out);
          assert.equal(fwd?.to, `w0/u0/${UA}`);
          assert.equal(fwd?.listener.id, 0);
        },
      );

      it(
        '§6.4 #39 a TCP token with its connection alive: sent on that connection',
        undefined,
        async () => {
          const h = await edge();
          const f = await h.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
          const tok = await tokenOf(h, { proto: 'tcp', remote: '192.0.2.7:40001', flowId: f.id });
          h.inject(invite({ from: 'registrar', route: `<sip:${tok}@127.0.0.1;lr;ob>` }), R);
          const [fwd] = reqs(await h.take(2));
          assert.equal(fwd?.to, f.id);
          assert.match(fwd?.msg.getHeader('Via') ?? '', /^SIP\/2\.0\/TCP 127\.0\.0\.1;branch=/);
        },
      );

      it('§6.4 #40 a tampered token: 403 to R, no branch', undefined, async () => {
        const h = await edge();
        const tok = await tokenOf(h);
        const bad = `${tok.slice(0, 3)}${tok[3] === 'A' ? 'B' : 'A'}${tok.slice(4)}`;
        h.inject(invite({ from: 'registrar', route: `<sip:${bad}@127.0.0.1;lr;ob>` }), R);
        const out = await h.take();
        assert.deepEqual(out.map(firstLine), ['SIP/2.0 403 Forbidden']);
        assert.equal(out[0]?.to, `w0/u0/${R}`);
      });

      it('§6.4 #41 a token naming a socket we do not listen on: 403', {
        kamailio: WHY.key,
      }, async () => {
        const h = await edge();
        h.inject(
          invite({
            from: 'registrar',
            route: `<sip:${await tokenOf(h, { port: 5999 })}@127.0.0.1;lr;ob>`,
          }),
          R,
        );
        assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
      });

      it(
        '§6.4 #42 Route without token from R: 500, the seed quirk Q-E1 (Kamailio: the generic 1/SL reason; flowgate: its own, decision Q-T2)',
        undefined,
        async () => {
          const strict = await edge({ seedStrict: true });
          strict.inject(
            invite({ from: 'registrar', route: '<sip:127.0.0.1;lr>', ruri: `sip:alice@${UA}` }),
            R,
          );
          // the seed: loose_route() returns -3, `default:` -> sl_reply_error() after an xlog, whose
          // Kamailio reason is the generic "(1/SL)" (outbound.md §3.1); flowgate's sl_reply_error()
          // answers the last error's own reason (docs/kamailio-differences.md Q-T2)
          assert.deepEqual(
            (await strict.take()).map(firstLine),
            kamailio
              ? ["SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)"]
              : ['SIP/2.0 500 Server Internal Error'],
          );
        },
      );

      it('§6.4 #42 flowgate routes it by the Request-URI instead (decision Q-E1)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const h = await edge();
        h.inject(
          invite({ from: 'registrar', route: '<sip:127.0.0.1;lr>', ruri: `sip:alice@${UA}` }),
          R,
        );
        const [fwd] = reqs(await h.take());
        assert.equal(fwd?.to, `w0/u0/${UA}`);
      });

      it(
        '§6.4 #43 an initial request from R without any Route: 500 (Kamailio: generic, Q-E11; flowgate: with the reason)',
        undefined,
        async () => {
          const h = await edge();
          h.inject(invite({ from: 'registrar' }), R);
          assert.deepEqual(
            (await h.take()).map(firstLine),
            kamailio
              ? ["SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)"]
              : ['SIP/2.0 500 No Route Header To Follow'],
          );
        },
      );

      it(
        '§6.4 #44 in-dialog BYE from the callee over TCP: both r2 Routes consumed, sent to R',
        undefined,
        async () => {
          const h = await edge();
          const callerTok = await tokenOf(h);
          const f = await h.connect('tcp', { address: '192.0.2.8', port: 41000 }, 1);
          const calleeTok = await tokenOf(h, {
            proto: 'tcp',
            remote: '192.0.2.8:41000',
            flowId: f.id,
          });
          h.inject(
            `BYE sip:alice@192.0.2.7:40000;ob SIP/2.0
Via: SIP/2.0/TCP 192.0.2.8:41000;branch=z9hG4bK-bye1;rport
Route: <sip:${calleeTok}@127.0.0.1;transport=tcp;r2=on;lr>, <sip:${calleeTok}@127.0.0.1;r2=on;lr>
Route: <sip:127.0.0.2;lr>, <sip:${callerTok}@127.0.0.1;lr>
Max-Forwards: 70
From: <sip:bob@example.com>;tag=b1
To: <sip:alice@example.com>;tag=a1
Call-ID: dlg-1
CSeq: 2 BYE
Content-Length: 0

`,
            '192.0.2.8:41000',
            { flowId: f.id },
          );
          const [fwd] = reqs(await h.take());
          assert.equal(fwd?.to, `w0/u0/127.0.0.2:5060`);
          assert.deepEqual(fwd?.msg.getValues('Route'), [
            '<sip:127.0.0.2;lr>',
            `<sip:${callerTok}@127.0.0.1;lr>`,
          ]);
        },
      );

      it(
        '§6.4 #45 in-dialog BYE from R with the caller token: delivered over the caller flow',
        undefined,
        async () => {
          const h = await edge();
          h.inject(
            invite({
              from: 'registrar',
              method: 'BYE',
              toTag: 'b1',
              route: `<sip:${await tokenOf(h)}@127.0.0.1;lr>`,
              ruri: `sip:alice@${UA};ob`,
            }),
            R,
          );
          const [fwd] = reqs(await h.take());
          assert.equal(fwd?.to, `w0/u0/${UA}`);
        },
      );

      it('§6.4 #46 in-dialog request with a tampered token: 403', undefined, async () => {
        const h = await edge();
        const tok = await tokenOf(h);
        h.inject(
          invite({
            from: 'registrar',
            method: 'BYE',
            toTag: 'b1',
            route: `<sip:${tok.slice(0, 20)}${tok.slice(20, 22) === 'QQ' ? 'RR' : 'QQ'}${tok.slice(22)}@127.0.0.1;lr>`,
          }),
          R,
        );
        assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
      });

      it(
        '§6.4 #47 in-dialog request without Route: 404; an ACK without transaction is dropped (seed)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          h.inject(invite({ method: 'BYE', toTag: 'b1' }), UA);
          assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 404 Not Found']);
          h.inject(invite({ method: 'ACK', toTag: 'b1', branch: 'z9hG4bK-ack0' }), UA);
          assert.deepEqual(await h.take(0), []);
        },
      );

      it(
        '§6.4 #47 an ACK for a 2xx without Route while its INVITE transaction exists: flowgate relays it (outbound.md §3.2); Kamailio 5.6.3 drops it',
        undefined,
        async () => {
          const h = await edge();
          // the INVITE from the registrar to the UA flow, answered 200 by the UA
          h.inject(
            invite({
              from: 'registrar',
              route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob>`,
              ruri: `sip:alice@${UA};ob`,
              callId: 'ack-2xx@ua',
            }),
            R,
          );
          const [inv] = reqs(await h.take(2));
          assert.ok(inv, 'the INVITE reached the UA');
          h.inject(reply(inv, 200, 'Contact: <sip:alice@192.0.2.7:40000;ob>\n', 'uas', 'OK'), UA);
          assert.deepEqual(
            resps(await h.take()).map((r) => `${r.to} ${r.msg.status}`),
            [`w0/u0/${R} 200`],
          );
          // the caller's ACK for the 2xx, through the registrar but without a Route. outbound.md
          // §3.2 reads t_check_trans() as true while the INVITE transaction exists (-> RELAY), and
          // flowgate does so; on the wire, Kamailio 5.6.3 running the same file does not match this
          // ACK to the transaction and drops it (docs/kamailio-differences.md, "t_check_trans()")
          h.inject(
            invite({
              from: 'registrar',
              method: 'ACK',
              toTag: 'uas',
              ruri: `sip:alice@${UA};ob`,
              callId: 'ack-2xx@ua',
              branch: 'z9hG4bK-ack2xx',
            }),
            R,
          );
          const out = await h.take(kamailio ? 0 : 1);
          assert.deepEqual(
            out.map((s) => `${s.to} ${firstLine(s)}`),
            kamailio ? [] : [`w0/u0/${UA} ACK sip:alice@${UA};ob SIP/2.0`],
          );
        },
      );

      it('§6.4 #47 flowgate: a client in-dialog request must come through our Record-Route: 403; the ACK is dropped (issue 10)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const s = await edge();
        s.inject(invite({ method: 'BYE', toTag: 'b1' }), UA);
        assert.deepEqual((await s.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
        s.inject(invite({ method: 'ACK', toTag: 'b1', branch: 'z9hG4bK-ack0' }), UA);
        assert.deepEqual(await s.take(0), []);
      });

      it('§6.4 #48 an in-dialog NOTIFY gets a Record-Route', undefined, async () => {
        const h = await edge();
        h.inject(
          invite({
            from: 'registrar',
            method: 'NOTIFY',
            toTag: 'b1',
            route: `<sip:${await tokenOf(h)}@127.0.0.1;lr>`,
          }),
          R,
        );
        const [fwd] = reqs(await h.take());
        assert.equal(fwd?.msg.getHeaders('Record-Route').length, 1);
      });

      it(
        '§6.4 #49 in-dialog request whose top Route is foreign: forwarded there (seed)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          h.inject(invite({ method: 'BYE', toTag: 'b1', route: '<sip:192.0.2.200:5080;lr>' }), UA);
          const [fwd] = reqs(await h.take());
          assert.equal(fwd?.to, 'w0/u0/192.0.2.200:5080');
          assert.equal(fwd?.msg.getHeader('Route'), '<sip:192.0.2.200:5080;lr>');
        },
      );

      it('§6.4 #49 flowgate refuses it from a client: 403 (issue 10)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const s = await edge();
        s.inject(invite({ method: 'BYE', toTag: 'b1', route: '<sip:192.0.2.200:5080;lr>' }), UA);
        assert.deepEqual((await s.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
      });

      const strictRoute = () =>
        invite({
          method: 'BYE',
          toTag: 'b1',
          route: '<sip:127.0.0.1;lr>, <sip:192.0.2.200:5080>',
          ruri: 'sip:bob@192.0.2.55',
        });

      it(
        '§6.4 #50 a strict next hop: it becomes the Request-URI, the old one goes to the end of Route (seed)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          h.inject(strictRoute(), UA);
          const [fwd] = reqs(await h.take());
          assert.equal(firstLine(fwd as WireSent), 'BYE sip:192.0.2.200:5080 SIP/2.0');
          assert.deepEqual(fwd?.msg.getValues('Route'), ['<sip:bob@192.0.2.55>']);
          assert.equal(fwd?.to, 'w0/u0/192.0.2.200:5080');
        },
      );

      it('§6.4 #50 flowgate: the same rewrite, but a client in-dialog request goes on to the registrar (issue 10)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const s = await edge();
        s.inject(strictRoute(), UA);
        const [sf] = reqs(await s.take());
        assert.equal(firstLine(sf as WireSent), 'BYE sip:192.0.2.200:5080 SIP/2.0');
        assert.equal(sf?.to, `w0/u0/${R}`);
      });

      it(
        '§6.4 #51 the token owner behind a new NAT port is treated as "incoming": sent to the old flow (Q-E15, seed)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          const tok = await tokenOf(h);
          h.inject(
            invite({ method: 'BYE', toTag: 'b1', route: `<sip:${tok}@127.0.0.1;lr>` }).replace(
              UA,
              '192.0.2.7:40002',
            ),
            '192.0.2.7:40002',
          );
          const [fwd] = reqs(await h.take());
          assert.equal(fwd?.to, `w0/u0/${UA}`, 'sent to the old flow');
        },
      );

      it('§6.4 #51 flowgate: a client request is never routed by another flow token: 403 (issue 10 §4)', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const s = await edge();
        const tok = await tokenOf(s);
        s.inject(
          invite({ method: 'BYE', toTag: 'b1', route: `<sip:${tok}@127.0.0.1;lr>` }).replace(
            UA,
            '192.0.2.7:40002',
          ),
          '192.0.2.7:40002',
        );
        assert.deepEqual((await s.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
      });

      const ipMatch = async (h: Wire): Promise<WireSent | undefined> => {
        h.inject(
          invite({
            method: 'BYE',
            toTag: 'b1',
            route: `<sip:${await tokenOf(h)}@127.0.0.1;lr>, <sip:192.0.2.200:5080;lr>`,
          }).replace(UA, '192.0.2.7:40002'),
          '192.0.2.7:40002',
        );
        return reqs(await h.take())[0];
      };

      it('direction_match: ip treats the same IP on a new port as the owner (decision Q-E15 mode, seed script)', {
        kamailio: WHY.modules,
      }, async () => {
        const h = await edge({ seedStrict: true, ob: { direction_match: 'ip' } });
        assert.equal((await ipMatch(h))?.to, 'w0/u0/192.0.2.200:5080');
      });

      it('direction_match: ip — flowgate: the owner route consumed, a client in-dialog request goes to the registrar', {
        cfg: WHY.secureEdge,
        kamailio: WHY.secureEdge,
      }, async () => {
        const s = await edge({ ob: { direction_match: 'ip' } });
        assert.equal((await ipMatch(s))?.to, `w0/u0/${R}`);
      });
    });

    describe('430, failure handling and Flow-Timer (§6.5)', () => {
      it(
        '§6.5 #52 a silent UDP flow: INVITE retransmitted on timer A, then 430 Flow Failed (with To-tag) at fr_timer',
        undefined,
        async () => {
          const h = await edge();
          h.inject(
            invite({ from: 'registrar', route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob>` }),
            R,
          );
          const first = await h.take(2);
          const [inv] = reqs(first);
          assert.ok(inv, 'the INVITE went to the UA');
          const t0 = inv.at ?? 0;
          const sentAt: number[] = [];
          let fin: (WireSent & { msg: SipResponse })[] = [];
          // in-process: 100 ms steps of the manual clock; Kamailio: real time
          while (fin.length === 0 && h.now() - t0 < 35_000) {
            if (!kamailio) await h.advance(100);
            const out = await h.take(1);
            for (const s of reqs(out)) sentAt.push((s.at ?? 0) - t0);
            fin = finals(out);
          }
          // RFC 3261 §17.1.1.2 timer A: 0.5, 1, 2, 4, 8 s apart; Kamailio caps the interval at T2
          // (4 s) also for INVITE (outbound.md §3.3 [V]): docs/kamailio-differences.md Q-T1
          const expected = kamailio
            ? [500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500]
            : [500, 1500, 3500, 7500, 15_500];
          const slack = kamailio ? 400 : 0;
          assert.equal(
            sentAt.length,
            expected.length,
            `retransmissions at ${sentAt.join(', ')} ms`,
          );
          for (const [i, ms] of sentAt.entries())
            assert.ok(
              Math.abs(ms - (expected[i] as number)) <= slack,
              `retransmission ${i + 1} at ${ms} ms, expected ${expected[i]} ms (all: ${sentAt.join(', ')})`,
            );
          assert.deepEqual(fin.map(firstLine), ['SIP/2.0 430 Flow Failed']);
          assert.ok(fin[0]?.msg.toTag);
          assert.equal(fin[0]?.to, `w0/u0/${R}`);
          const at430 = (fin[0]?.at ?? 0) - t0;
          assert.ok(
            Math.abs(at430 - 30_000) <= (kamailio ? 1500 : 100),
            `430 at ${at430} ms after the INVITE, fr_timer is 30 s`,
          );
        },
      );

      it('§6.5 #53 180 then nothing: 408 after fr_inv_timer, no 430', {
        kamailio: 'takes fr_inv_timer (120 s) of real time',
      }, async () => {
        const h = await edge();
        h.inject(
          invite({ from: 'registrar', route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob>` }),
          R,
        );
        const [fwd] = reqs(await h.take());
        assert.ok(fwd);
        h.inject(reply(fwd, 180), UA);
        await h.take();
        await h.advance(120_000);
        assert.deepEqual(finals(await h.take()).map(firstLine), ['SIP/2.0 408 Request Timeout']);
      });

      it('§6.5 #54 a 486 is relayed unchanged', undefined, async () => {
        const h = await edge();
        h.inject(
          invite({ from: 'registrar', route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob>` }),
          R,
        );
        const [fwd] = reqs(await h.take(2));
        assert.ok(fwd);
        h.inject(reply(fwd, 486), UA);
        const out = resps(await h.take());
        assert.deepEqual(
          out.map((r) => r.msg.status),
          [486],
        );
        assert.equal(out[0]?.msg.reason, 'X', 'the reason phrase as the UA sent it');
      });

      it('§6.5 #55 MESSAGE to a silent UDP flow: 430 after fr_timer', undefined, async () => {
        const h = await edge();
        h.inject(
          invite({
            from: 'registrar',
            method: 'MESSAGE',
            route: `<sip:${await tokenOf(h)}@127.0.0.1;lr;ob>`,
          }),
          R,
        );
        await h.take();
        if (kamailio) {
          let got: WireSent[] = [];
          const end = Date.now() + 35_000;
          while (got.length === 0 && Date.now() < end) got = finals(await h.take(1));
          assert.deepEqual(got.map(firstLine), ['SIP/2.0 430 Flow Failed']);
        } else {
          await h.advance(29_999);
          assert.deepEqual(finals(await h.take()), [], 'not before fr_timer');
          await h.advance(1);
          assert.deepEqual(resps(await h.take()).map(firstLine), ['SIP/2.0 430 Flow Failed']);
        }
      });

      it(
        '§6.5 #56 2xx to REGISTER with Require: outbound: Flow-Timer: 20 right before Call-ID',
        undefined,
        async () => {
          const [r] = await registerAndReply(
            await edge(),
            200,
            'Require: outbound\nSupported: outbound\n',
          );
          const lines = r?.msg.toString().split('\r\n') ?? [];
          const i = lines.findIndex((l) => l.startsWith('Call-ID:'));
          assert.equal(lines[i - 1], 'Flow-Timer: 20');
        },
      );

      it('§6.5 #57 an existing Flow-Timer is replaced', undefined, async () => {
        const [r] = await registerAndReply(
          await edge(),
          200,
          'Flow-Timer: 99\nRequire: outbound\n',
        );
        assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), ['20']);
      });

      it('§6.5 #58 a 2xx without Require: outbound: no Flow-Timer', undefined, async () => {
        assert.deepEqual(
          (await registerAndReply(await edge(), 200, ''))[0]?.msg.getHeaders('Flow-Timer'),
          [],
        );
      });

      for (const [status, reason] of [
        [420, 'Bad Extension'],
        [439, 'First Hop Lacks Outbound Support'],
        [403, 'Forbidden'],
        [423, 'Interval Too Brief'],
      ] as const)
        it(
          `§6.5 #59 a ${status} to REGISTER (even with Require: outbound): relayed, no Flow-Timer`,
          undefined,
          async () => {
            const [r] = await registerAndReply(
              await edge(),
              status,
              `Require: outbound\nP-Registrar-Error: x\n`,
            );
            assert.equal(r?.msg.status, status, `${status} ${reason} relayed`);
            assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), []);
          },
        );

      it('§6.5 #60 a 200 to a non-REGISTER keeps its headers', undefined, async () => {
        const h = await edge();
        h.inject(invite({ method: 'MESSAGE' }), UA);
        const [fwd] = reqs(await h.take());
        assert.ok(fwd);
        h.inject(reply(fwd, 200, 'Require: outbound\n'), R);
        const [r] = resps(await h.take());
        assert.equal(r?.msg.status, 200);
        assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), []);
      });

      it('§6.5 #61 a reply matching no transaction is dropped', undefined, async () => {
        const h = await edge();
        h.inject(
          `SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKnone
Via: SIP/2.0/UDP ${UA};branch=z9hG4bK-x;rport=40000;received=192.0.2.7
From: <sip:a@x>;tag=1
To: <sip:b@x>;tag=2
Call-ID: stray
CSeq: 1 REGISTER
Content-Length: 0

`,
          R,
        );
        assert.deepEqual(await h.take(0), []);
      });

      it(
        '§6.5 #62 the edge adds Flow-Timer to a 2xx with Require: outbound also for a binding query (no Contact)',
        undefined,
        async () => {
          // the edge's half of #62: its onreply_route looks at Require only; whether a query's 200
          // carries Require: outbound is the registrar's decision (Q-R4): end to end in chain.case.ts
          const [r] = await registerAndReply(
            await edge(),
            200,
            'Require: outbound\n',
            register({ contact: '' }),
          );
          assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), ['20']);
        },
      );

      it(
        '§6.5 #62 the registrar decides: a query whose 200 has no Require: outbound gets no Flow-Timer',
        undefined,
        async () => {
          const [r] = await registerAndReply(
            await edge(),
            200,
            'Supported: outbound\n',
            register({ contact: '' }),
          );
          assert.equal(r?.msg.status, 200);
          assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), []);
        },
      );

      it(
        '§6.6 #73 the TCP flow is gone: flowgate answers 430 at once (decision Q-E2); the seed on Kamailio does not',
        undefined,
        async () => {
          const h = await edge();
          const f = await h.connect('tcp', { address: '192.0.2.7', port: 40001 }, 1);
          const tok = await tokenOf(h, { proto: 'tcp', remote: '192.0.2.7:40001', flowId: f.id });
          await h.disconnect(f.id);
          h.inject(invite({ from: 'registrar', route: `<sip:${tok}@127.0.0.1;lr;ob>` }), R);
          const out = await h.take();
          if (kamailio) {
            // seed-exact (outbound.md §6.6 #73): no 430 at once; what follows the failed connect is
            // Kamailio's (not a conformance item)
            assert.deepEqual(
              finals(out).filter((r) => r.msg.status === 430),
              [],
              out.map(firstLine).join(', '),
            );
          } else {
            assert.deepEqual(reqs(out), [], 'no new connection to the UA');
            assert.deepEqual(resps(out).map(firstLine), [
              'SIP/2.0 100 Trying',
              'SIP/2.0 430 Flow Failed',
            ]);
          }
        },
      );
    });

    describe('the edge configuration itself (§6.9)', () => {
      it(
        '§6.9 #114 #!subst: REGISTER goes to "sip:REGISTRAR_IP:REGISTRAR_PORT" as substituted; #!substdef: "Flow-Timer: FLOW_TIMER\\r\\n" is Flow-Timer: 20 + CRLF before Call-ID',
        undefined,
        async () => {
          const h = await edge();
          h.inject(register(), UA);
          const [fwd] = reqs(await h.take());
          assert.equal(
            fwd?.to,
            'w0/u0/127.0.0.2:5060',
            'the #!subst addresses of the rendered file',
          );
          h.inject(reply(fwd as WireSent, 200, 'Require: outbound\n', 'reg'), R);
          const [ok] = resps(await h.take());
          assert.ok(
            ok?.buf.includes('\r\nFlow-Timer: 20\r\nCall-ID: '),
            ok?.buf.toString('latin1'),
          );
        },
      );

      it('§6.9 #114 #!subst with another registrar address: the REGISTER follows it', {
        kamailio: WHY.render,
      }, async () => {
        const h = await edge({ registrar: '127.0.0.2:5070' });
        h.inject(register(), UA);
        assert.equal(reqs(await h.take())[0]?.to, 'w0/u0/127.0.0.2:5070');
      });

      it(
        '§6.9 #115 a failed sanity_check returns 0: the script ends (400 from sanity, nothing relayed, the xlog after it not run)',
        undefined,
        async () => {
          const h = await edge();
          h.inject(invite().replace('CSeq: 1 INVITE', 'CSeq: 1 INFO'), UA);
          assert.deepEqual((await h.take()).map(firstLine), [
            'SIP/2.0 400 CSeq method does not match request method',
          ]);
          // the route's `xlog("Malformed SIP message from $si:$sp\n")` after the `if` never runs
          // (flowgate logs the failed check by name itself: decision Q-T4)
          assert.doesNotMatch(h.logged(), /Malformed SIP message/);
        },
      );

      it(
        '§6.9 #116 $rc survives `if (!loose_route())` into switch: -2 -> case -2 -> 403 (in-dialog, tampered token)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          const tok = await tokenOf(h);
          h.inject(
            invite({
              from: 'registrar',
              method: 'INFO',
              toTag: 'b1',
              route: `<sip:${tok.slice(0, 5)}${tok[5] === 'A' ? 'B' : 'A'}${tok.slice(6)}@127.0.0.1;lr>`,
            }),
            R,
          );
          assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 403 Forbidden']);
        },
      );

      it(
        '§6.9 #118 $rU == $null: a client request without user part gets 484; with one it is relayed',
        undefined,
        async () => {
          const h = await edge();
          h.inject(invite({ method: 'OPTIONS', ruri: 'sip:example.com' }), UA);
          assert.deepEqual((await h.take()).map(firstLine), ['SIP/2.0 484 Address Incomplete']);
          h.inject(invite({ method: 'OPTIONS', branch: 'z9hG4bK-o2', callId: 'o2@ua' }), UA);
          assert.deepEqual(
            (await h.take()).map((s) => s.to),
            [`w0/u0/${R}`],
          );
        },
      );

      it(
        '§6.9 #119 @via[2]: two Via values in ONE header are two Vias (from the registrar: routed by the token)',
        undefined,
        async () => {
          const h = await edge({ seedStrict: true });
          const tok = await tokenOf(h);
          h.inject(
            invite({ from: 'registrar', route: `<sip:${tok}@127.0.0.1;lr;ob>` }).replace(
              '\nVia: SIP/2.0/UDP 192.0.2.99:5060',
              ', SIP/2.0/UDP 192.0.2.99:5060',
            ),
            R,
          );
          const [fwd] = reqs(await h.take(2));
          assert.equal(fwd?.to, `w0/u0/${UA}`, 'routed by the token: @via[2] was not ""');
          // and one Via: from a client, to the registrar
          h.inject(invite({ branch: 'z9hG4bK-one', callId: 'one@ua' }), UA);
          assert.equal(reqs(await h.take())[0]?.to, `w0/u0/${R}`);
        },
      );

      it(
        '§6.9 #120 $(hdr(Require)[*]) =~ "outbound": Require: foo + Require: OUTBOUND gets Flow-Timer',
        undefined,
        async () => {
          const [r] = await registerAndReply(
            await edge(),
            200,
            'Require: foo\nRequire: OUTBOUND\n',
          );
          assert.deepEqual(r?.msg.getHeaders('Flow-Timer'), ['20']);
        },
      );

      it(
        '§6.9 #121 Max-Forwards: absent -> 10 added; 0 -> 483; 200 -> forwarded with 70; 70 -> 69',
        undefined,
        async () => {
          const h = await edge();
          const mf = async (v: string | null, n: string): Promise<WireSent[]> => {
            h.inject(
              invite({
                method: 'OPTIONS',
                maxForwards: v,
                branch: `z9hG4bK-mf${n}`,
                callId: `mf${n}@ua`,
              }),
              UA,
            );
            return h.take();
          };
          const [absent] = await mf(null, 'a');
          assert.equal(absent?.msg.getHeader('Max-Forwards'), '10');
          assert.deepEqual((await mf('0', 'b')).map(firstLine), ['SIP/2.0 483 Too Many Hops']);
          assert.equal((await mf('200', 'c'))[0]?.msg.getHeader('Max-Forwards'), '70');
          assert.equal((await mf('70', 'd'))[0]?.msg.getHeader('Max-Forwards'), '69');
        },
      );

      it(
        '§6.9 #122 sanity_check("1511", "7"): CSeq method and Expires checks answer 400 with Kamailio\'s reasons',
        undefined,
        async () => {
          const h = await edge();
          const cases: [string, string, string][] = [
            ['cseq', 'CSeq: 1 OPTIONS', 'CSeq: 1 INFO'],
            ['exp', 'Content-Length: 0', 'Expires: abc\nContent-Length: 0'],
          ];
          const got: string[] = [];
          for (const [n, from, to] of cases) {
            h.inject(
              invite({ method: 'OPTIONS', branch: `z9hG4bK-s${n}`, callId: `s${n}@ua` }).replace(
                from,
                to,
              ),
              UA,
            );
            got.push(...(await h.take()).map(firstLine));
          }
          assert.deepEqual(got, [
            'SIP/2.0 400 CSeq method does not match request method',
            'SIP/2.0 400 Expires value is illegal',
          ]);
        },
      );

      /** What flowgate's transport makes of a datagram before any script runs (the harness injects parsed messages). */
      const scanned = (raw: string): string => {
        const r = scanMessage(Buffer.from(raw.replace(/\r?\n/g, '\r\n'), 'latin1'));
        return r.ok ? 'accepted' : `${r.error.status} ${r.error.code}`;
      };

      it(
        '§6.9 #122 a Content-Length larger than the datagram: Kamailio\'s sanity answers 400 "Content-Length mis-match"; flowgate\'s transport refuses it with 400 before any script (RFC 3261 §18.3)',
        undefined,
        async () => {
          const raw = invite({
            method: 'OPTIONS',
            branch: 'z9hG4bK-sclen',
            callId: 'sclen@ua',
          }).replace('Content-Length: 0', 'Content-Length: 10');
          if (kamailio) {
            const h = await edge();
            h.inject(raw, UA);
            assert.deepEqual((await h.take()).map(firstLine), [
              'SIP/2.0 400 Content-Length mis-match',
            ]);
          } else {
            // the transport's reply to such a datagram: test/conformance/rfc4475 "clerr"
            assert.equal(scanned(raw), '400 SIP_ERR_PARSE_BODY');
          }
        },
      );

      it(
        '§6.9 #122 a SIP/3.0 request line: Kamailio drops it silently; flowgate answers 505 (RFC 4475 §3.1.2.16, docs/kamailio-differences.md)',
        undefined,
        async () => {
          const raw = invite({ method: 'OPTIONS' }).replace(
            /^OPTIONS (\S+) SIP\/2\.0/,
            'OPTIONS $1 SIP/3.0',
          );
          if (kamailio) {
            const h = await edge();
            h.inject(raw, UA);
            assert.deepEqual(await h.take(0), []);
          } else {
            // the 505 on the wire: test/conformance/rfc4475 "badvers"
            assert.equal(scanned(raw), '505 SIP_ERR_PARSE_VERSION');
          }
        },
      );

      it(
        '§6.9 #123 a retransmitted REGISTER through the edge: the last reply is sent again, the registrar sees one REGISTER',
        undefined,
        async () => {
          const h = await edge();
          h.inject(register(), UA);
          const [fwd] = reqs(await h.take());
          assert.ok(fwd);
          h.inject(reply(fwd, 200, 'Require: outbound\n', 'reg', 'OK'), R);
          const [first] = resps(await h.take());
          assert.equal(first?.msg.status, 200);
          h.inject(register(), UA);
          const again = await h.take();
          assert.deepEqual(
            again.map((s) => `${s.to} ${firstLine(s)}`),
            [`w0/u0/${UA} SIP/2.0 200 OK`],
            'only the reply, to the UA',
          );
          assert.equal(normalizeBody(again[0] as WireSent), normalizeBody(first as WireSent));
        },
      );

      it(
        '§6.9 #124 CANCEL through the edge: 200 to the CANCEL, CANCEL forwarded, the INVITE ends with 487; a CANCEL without INVITE is dropped',
        undefined,
        async () => {
          const h = await edge();
          h.inject(invite({ branch: 'z9hG4bK-c1', callId: 'cancel@ua' }), UA);
          const [inv] = reqs(await h.take());
          assert.ok(inv);
          h.inject(reply(inv, 180, '', 'uas', 'Ringing'), R);
          assert.deepEqual(
            resps(await h.take()).map((r) => r.msg.status),
            [180],
          );
          const cancel = invite({ method: 'CANCEL', branch: 'z9hG4bK-c1', callId: 'cancel@ua' })
            .replace(/^Contact:.*\n/m, '')
            .replace(/^Supported:.*\n/m, '');
          h.inject(cancel, UA);
          const out = await h.take(2);
          assert.deepEqual(
            resps(out).map((r) => `${r.to} ${r.msg.status} ${r.msg.getHeader('CSeq')}`),
            [`w0/u0/${UA} 200 1 CANCEL`],
          );
          const [fc] = reqs(out);
          assert.equal(fc?.msg.method, 'CANCEL');
          assert.equal(fc?.to, `w0/u0/${R}`);
          assert.equal(fc?.msg.getHeader('Via'), inv.msg.getHeader('Via'), 'the INVITE branch');
          h.inject(reply(fc as WireSent, 200, '', 'uas', 'OK'), R);
          h.inject(reply(inv, 487, '', 'uas', 'Request Terminated'), R);
          const end = await h.take(2);
          assert.deepEqual(
            resps(end).map((r) => `${r.to} ${r.msg.status} ${r.msg.getHeader('CSeq')}`),
            [`w0/u0/${UA} 487 1 INVITE`],
          );
          assert.deepEqual(
            reqs(end).map((r) => `${r.to} ${r.msg.method}`),
            [`w0/u0/${R} ACK`],
            'the edge acknowledges the 487 hop by hop',
          );
          // the UA acknowledges the 487 (hop by hop: absorbed, nothing relayed)
          h.inject(
            invite({
              method: 'ACK',
              branch: 'z9hG4bK-c1',
              callId: 'cancel@ua',
              toTag: 'uas',
              ruri: 'sip:bob@example.com',
            }),
            UA,
          );
          assert.deepEqual(await h.take(0), []);
          // a CANCEL matching nothing
          h.inject(cancel.replace(/z9hG4bK-c1/, 'z9hG4bK-c2').replace(/cancel@ua/, 'lost@ua'), UA);
          assert.deepEqual(await h.take(0), []);
        },
      );

      it('§6.9 #125 t_relay() fails (unresolvable $du): exactly one final reply, 478', {
        kamailio: WHY.dns,
      }, async () => {
        const h = await edge({ registrar: 'registrar.invalid:5060' });
        h.inject(invite({ method: 'OPTIONS' }), UA);
        const out = (await h.take()).map(firstLine);
        assert.equal(out.length, 1, out.join(', '));
        assert.match(out[0] ?? '', /^SIP\/2\.0 478 /);
      });
    });
  });
}

/** A message without the values that differ between sends (for "the same reply again"). */
function normalizeBody(s: WireSent): string {
  return s.msg.toString();
}
