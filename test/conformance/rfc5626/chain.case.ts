// The seed topology end to end (outbound.md §0.1): a UA registers through the edge to the registrar,
// both elements in one form (issue 11): the built-in TypeScript scripts, the peer's edge.cfg and
// registrar.cfg in flowgate, Kamailio running both files. What neither element decides alone:
// outbound.md §6.5 #62 (does a binding query get a Flow-Timer?) is the registrar's Require: outbound
// (decision Q-R4) seen through the edge's onreply_route.
// Not a test file: the runners are chain.test.ts (in-process) and chain-kamailio.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipResponse } from '../../../src/message/message.js';
import {
  type Except,
  FORM_TITLE,
  type Form,
  skipFor,
  type Wire,
  type WireSent,
} from '../../support/seed-forms.js';

/** The UA, behind NAT, sending to the edge at 127.0.0.1:5060 (the registrar is 127.0.0.2:5060). */
export const CHAIN_UA = '192.0.2.7:40000';

/** The seed topology in one form. */
export interface ChainTarget {
  readonly form: Form;
  /** A fresh edge + registrar (in-process), or a fresh view of the running pair (Kamailio, emptied). */
  chain(): Promise<Wire>;
}

function register(o: { contact?: string; cseq?: number; callId?: string } = {}): string {
  const n = o.cseq ?? 1;
  return `REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP ${CHAIN_UA};branch=z9hG4bK-chain-${n};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a${n}
To: <sip:alice@example.com>
Call-ID: ${o.callId ?? 'chain-reg@ua'}
CSeq: ${n} REGISTER
${o.contact === '' ? '' : `Contact: ${o.contact ?? '<sip:alice@192.0.2.7:40000;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>"'}\n`}Supported: path, outbound, gruu
Expires: 600
Content-Length: 0

`;
}

/** Runs the end-to-end suite against one form. */
export function runChainSuite(t: ChainTarget): void {
  const kamailio = t.form === 'kamailio';
  const it = (name: string, except: Except | undefined, fn: () => Promise<void>): void => {
    test(name, { skip: skipFor(t.form, except) }, fn);
  };

  /** The one reply the UA gets to `raw`. */
  async function ask(h: Wire, raw: string): Promise<SipResponse> {
    h.inject(raw, CHAIN_UA);
    const out: WireSent[] = await h.take();
    const toUa = out.filter((s) => s.to === `w0/u0/${CHAIN_UA}` && !s.msg.isRequest);
    assert.equal(toUa.length, 1, out.map((s) => `${s.to} ${s.msg.toString()}`).join('\n'));
    return toUa[0]?.msg as SipResponse;
  }

  describe(`edge + registrar end to end — ${FORM_TITLE[t.form]}`, () => {
    it(
      '§6.5 #56 an outbound REGISTER through the edge: 200 with the Path echo, Require: outbound and Flow-Timer: 20 before Call-ID',
      undefined,
      async () => {
        const h = await t.chain();
        const ok = await ask(h, register());
        assert.equal(ok.status, 200);
        assert.match(ok.getHeader('Path') ?? '', /^<sip:[^@]{32}@127\.0\.0\.1;lr;ob>$/);
        assert.equal(ok.getHeader('Require'), 'outbound');
        assert.equal(ok.getHeader('Flow-Timer'), '20');
        const lines = ok.toString().split('\r\n');
        assert.equal(lines[lines.findIndex((l) => l.startsWith('Call-ID:')) - 1], 'Flow-Timer: 20');
      },
    );

    it(
      '§6.5 #62 a binding query (no Contact, Supported: outbound) through the edge: flowgate answers without Require: outbound, so without Flow-Timer (decision Q-R4); the seed on Kamailio with both',
      undefined,
      async () => {
        const h = await t.chain();
        assert.equal((await ask(h, register())).status, 200);
        const q = await ask(h, register({ contact: '', cseq: 2 }));
        assert.equal(q.status, 200);
        // the query lists the binding either way
        assert.match(q.getHeader('Contact') ?? '', /^<sip:alice@192\.0\.2\.7:40000;ob>;expires=/);
        if (kamailio) {
          // outbound.md §6.5 #62 [V]: Kamailio's registrar requires outbound whenever the UA lists
          // it, and the edge's onreply_route adds the Flow-Timer
          assert.equal(q.getHeader('Require'), 'outbound');
          assert.equal(q.getHeader('Flow-Timer'), '20');
        } else {
          // flowgate: a query applies outbound to no flow (RFC 5626 §6: Require: outbound answers a
          // registration that used outbound), and Flow-Timer is a keep-alive interval for a flow
          // (§4.4.1): a query has none to keep alive
          assert.equal(q.getHeader('Require'), undefined);
          assert.deepEqual(q.getHeaders('Flow-Timer'), []);
        }
      },
    );
  });
}
