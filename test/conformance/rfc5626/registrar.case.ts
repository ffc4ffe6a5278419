// The registrar's conformance suite (outbound.md §6.7 save/reply, §6.8 lookup and forking, and the
// registrar's §6.9 items), one suite for three forms (issue 11): the built-in registrar script, the
// peer's registrar.cfg in flowgate, and Kamailio running registrar.cfg (test/support/seed-forms.ts).
// Each element is fed as the seed topology feeds it (outbound.md §0.1): REGISTERs from the edge at
// 127.0.0.11:5060 with the edge's Path, calls from a caller at 192.0.2.50:5060. A test that does not
// apply to a form is skipped there with the reason; where flowgate deliberately differs from Kamailio
// (docs/kamailio-differences.md) the test asserts each side and names the decision.
// Tests with other module parameters than the seed's run the cfg form with those parameters written
// into registrar.cfg as modparams (seed-forms.ts registrarCfgWith).
// Not a test file: the runners are registrar.test.ts (in-process) and registrar-kamailio.test.ts.
import assert from 'node:assert/strict';
import { after, beforeEach, describe, test } from 'node:test';
import { buildResponseBytes } from '../../../src/message/build.js';
import type { SipRequest, SipResponse } from '../../../src/message/message.js';
import type { RegistrarParams } from '../../../src/modules/registrar/index.js';
import { defineScript, type Script } from '../../../src/script/api.js';
import type { ManualClock } from '../../../src/util/clock.js';
import {
  type Except,
  FORM_TITLE,
  SEED_REGISTRAR_PARAMS as SEED_PARAMS,
  skipFor,
  WHY,
  type Wire,
  type WireSent,
} from '../../support/seed-forms.js';
import {
  CALLER,
  EDGE,
  edgePath,
  type FlakyStore,
  headerNames,
  INSTANCE,
  INSTANCE2,
  invite,
  obContact,
  type RegisterOpts,
  register,
  replyContacts,
  resetMessageNumbers,
  TOKEN1,
  TOKEN2,
  UA,
} from '../../unit/modules/registrar/helpers.js';

const SUP = 'path, outbound, gruu';

/** The harness addresses a Kamailio run needs sockets for in every test. */
export const REGISTRAR_TEST_SOCKETS = [
  EDGE,
  UA,
  CALLER,
  '192.0.2.31:5060',
  '192.0.2.32:5060',
] as const;

/** A registrar under test. */
export interface RegistrarUnderTest {
  readonly h: Wire;
  /** The location store (in-process forms only). */
  readonly store: FlakyStore;
  /** The clock the element and the store share (in-process forms only). */
  readonly clock: ManualClock;
  close(): Promise<void>;
}

/** A registrar in one form. */
export interface RegistrarTarget {
  readonly form: import('../../support/seed-forms.js').Form;
  /** A fresh registrar (in-process), or a fresh view of the running one (Kamailio, emptied). */
  registrar(
    params?: RegistrarParams,
    opts?: { script?: Script | undefined },
  ): Promise<RegistrarUnderTest>;
}

function param(contact: string, name: string): string | undefined {
  const m = new RegExp(`;${name.replace(/[.+]/g, '\\$&')}=("[^"]*"|[^;]*)`).exec(contact);
  return m?.[1];
}

/** Responses among sent messages. */
function responses(sent: readonly WireSent[]): SipResponse[] {
  return sent.filter((s) => !s.msg.isRequest).map((s) => s.msg as SipResponse);
}

/** Requests among sent messages (optionally of one method). */
function requests(sent: readonly WireSent[], method?: string): (WireSent & { msg: SipRequest })[] {
  return sent.filter(
    (s): s is WireSent & { msg: SipRequest } =>
      s.msg.isRequest && (method === undefined || (s.msg as SipRequest).method === method),
  );
}

/** Why a test of one binding is left out for Kamailio: it does not route a single target. */
const ONE_TARGET =
  'a single binding: the seed registrar on Kamailio answers 500 instead of routing it (Q-R7, asserted by §6.8 #97)';

/** Runs the registrar suite against one form. */
export function runRegistrarSuite(t: RegistrarTarget): void {
  const form = t.form;
  const kamailio = form === 'kamailio';
  const it = (name: string, except: Except | undefined, fn: () => Promise<void>): void => {
    test(name, { skip: skipFor(form, except) }, fn);
  };
  const open: RegistrarUnderTest[] = [];
  after(async () => {
    for (const r of open.splice(0)) await r.close();
  });

  async function registrar(
    params: RegistrarParams = SEED_PARAMS,
    opts: { script?: Script } = {},
  ): Promise<RegistrarUnderTest> {
    const r = await t.registrar(params, opts);
    open.push(r);
    return r;
  }

  /** Sends a REGISTER (from the edge by default); returns the single reply and everything sent. */
  async function registerSent(
    r: RegistrarUnderTest,
    o: RegisterOpts = {},
    from = EDGE,
  ): Promise<{ res: SipResponse; sent: WireSent[] }> {
    r.h.inject(register(o), from);
    let sent = await r.h.take();
    if (kamailio) {
      // Kamailio 5.6: when save() fails (or returns 0), the seed's sl_reply_error() answers a
      // second time, "500 … (1/SL)" (outbound.md §6.7 #80; flowgate answers once, decision Q-R13)
      const [first, second, ...rest] = sent;
      if (
        rest.length === 0 &&
        first !== undefined &&
        second !== undefined &&
        !first.msg.isRequest &&
        second.msg
          .toString()
          .startsWith("SIP/2.0 500 I'm terribly sorry, server error occurred (1/SL)\r\n")
      )
        sent = [first];
    }
    const replies = sent.filter((s) => !s.msg.isRequest);
    assert.equal(
      replies.length,
      1,
      `exactly one reply expected, got:\n${sent.map((s) => s.msg.toString()).join('\n----\n')}`,
    );
    return { res: replies[0]?.msg as SipResponse, sent };
  }

  /** Sends a REGISTER (from the edge by default) and returns the single reply. */
  async function doRegister(
    r: RegistrarUnderTest,
    o: RegisterOpts = {},
    from = EDGE,
  ): Promise<SipResponse> {
    return (await registerSent(r, o, from)).res;
  }

  /**
   * The bindings of `user` as the registrar lists them on the wire: the Contact values of the 200 to
   * a query (a REGISTER without Contact, from the edge), without their parameters.
   */
  async function listed(r: RegistrarUnderTest, user = 'alice'): Promise<string[]> {
    const q = await doRegister(r, { user, supported: SUP, path: edgePath() });
    assert.equal(q.status, 200, 'the query is answered');
    return replyContacts(q).map((c) => c.slice(0, c.indexOf('>') + 1));
  }

  /** Answers a request the registrar sent (a branch) with `status`, as the edge would. */
  function answer(
    r: RegistrarUnderTest,
    req: SipRequest,
    status: number,
    reason?: string,
    from = EDGE,
  ): void {
    const bytes = buildResponseBytes(req, status, {
      reason,
      toTag: status > 100 ? `uas-${status}` : undefined,
    });
    r.h.inject(bytes, from);
  }

  /**
   * The reason phrase of a registrar error reply: flowgate's own per error; Kamailio's the generic
   * one of the status (docs/kamailio-differences.md, "400/500 replies"; P-Registrar-Error is the same).
   */
  const reasonOf = (flowgate: string, status: 400 | 500): string =>
    kamailio ? (status === 400 ? 'Bad Request' : 'Server Internal Error') : flowgate;

  /** Registers alice's two flows (reg-id 1 then 2, one instance) through the edge. */
  async function twoFlows(r: RegistrarUnderTest): Promise<void> {
    const a = await doRegister(r, {
      contact: obContact(1),
      supported: SUP,
      path: edgePath(TOKEN1),
      callId: 'flows',
      cseq: 1,
    });
    assert.equal(a.status, 200);
    await r.h.advance(1000);
    const b = await doRegister(r, {
      contact: obContact(2, { port: 5071 }),
      supported: SUP,
      path: edgePath(TOKEN2),
      callId: 'flows',
      cseq: 2,
    });
    assert.equal(b.status, 200);
    assert.equal(replyContacts(b).length, 2);
  }

  /** Sends an INVITE for `ruri` from the caller and returns what the registrar sent. */
  async function call(r: RegistrarUnderTest, ruri: string, o: { method?: string } = {}) {
    r.h.inject(invite(ruri, o), CALLER);
    return r.h.take();
  }

  function routeOf(m: SipRequest): string[] {
    return m.getHeaders('Route');
  }

  /** Where a message went, as `udp:ip:port` also when it was sent over the UDP flow id. */
  function dest(to: string): string {
    const m = /^w\d+\/u\d+\/(.+)$/.exec(to);
    return m === null ? to : `udp:${m[1]}`;
  }

  function finalTo(sent: readonly WireSent[], to: string) {
    return responses(sent.filter((s) => dest(s.to) === `udp:${to}`)).filter((m) => m.status >= 200);
  }

  describe(`registrar conformance — ${FORM_TITLE[form]}`, () => {
    beforeEach(() => resetMessageNumbers());
    describe('save: §6.7 registrar save/reply', () => {
      it(
        '§6.7 #77 without gruu in Supported: no pub-gruu/temp-gruu, still +sip.instance and reg-id',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: 'path, outbound',
            path: edgePath(),
            expires: 600,
          });
          assert.equal(res.status, 200);
          assert.equal(
            res.getHeader('Contact'),
            '<sip:alice@192.0.2.21:5070;ob>;expires=600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1',
          );
        },
      );

      it(
        '§6.7 #78 Path without path in Supported: 420, Unsupported: path, Path echo; nothing stored (decision Q-R3)',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: 'outbound',
            path: edgePath(),
          });
          assert.equal(res.status, 420);
          assert.equal(res.reason, 'Bad Extension');
          assert.equal(res.getHeader('Unsupported'), 'path');
          assert.equal(res.getHeader('Path'), edgePath());
          assert.equal(res.getHeader('P-Registrar-Error'), 'No support for found Path indicated');
          if (kamailio)
            // Q-R3: the binding Kamailio stored anyway is listed in its 420
            assert.match(
              res.getHeader('Contact') ?? '',
              /^<sip:alice@192\.0\.2\.21:5070;ob>;expires=/,
            );
          else assert.equal(res.getHeader('Contact'), undefined);
          // and with it the outbound Require of that binding (Kamailio, Q-R3)
          assert.equal(res.getHeader('Require'), kamailio ? 'outbound' : undefined);
          if (kamailio) {
            // seed-exact (outbound.md §6.7 #78, Q-R3): Kamailio stores the binding all the same
            assert.deepEqual(await listed(r), ['<sip:alice@192.0.2.21:5070;ob>']);
          } else {
            assert.deepEqual(await r.store.get('alice'), []);
            assert.equal(r.store.applyCalls, 0, 'checked before writing');
            assert.deepEqual(await listed(r), []);
          }
        },
      );

      it(
        '§6.7 #78 a 420 for Path also leaves existing bindings alone (Contact: * is not applied; Kamailio answers the * 200 and keeps them too)',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
          const res = await doRegister(r, {
            contact: '*',
            expires: 0,
            supported: 'outbound',
            path: edgePath(),
          });
          // Kamailio 5.6.3 does not check Path for "*": 200 (then the 500 of Q-R13), bindings kept
          assert.equal(res.status, kamailio ? 200 : 420);
          if (!kamailio) assert.equal((await r.store.get('alice')).length, 1);
          assert.equal((await listed(r)).length, 1);
        },
      );

      it(
        '§6.7 #79 no Supported header at all and a Path: 420 (strict path_mode)',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: '<sip:alice@192.0.2.21:5070>',
            path: '<sip:127.0.0.11;lr>',
          });
          assert.equal(res.status, 420);
          assert.equal(res.getHeader('Unsupported'), 'path');
        },
      );

      it('path_mode 1 echoes only when supported and never refuses; path_mode 0 never echoes', {
        kamailio: WHY.params,
      }, async () => {
        const r1 = await registrar({ ...SEED_PARAMS, path_mode: 1 });
        const a = await doRegister(r1, {
          contact: obContact(1),
          supported: 'outbound',
          path: edgePath(),
        });
        assert.equal(a.status, 200);
        assert.equal(a.getHeader('Path'), undefined);
        const b = await doRegister(r1, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(b.getHeader('Path'), edgePath());
        const r0 = await registrar({ ...SEED_PARAMS, path_mode: 0 });
        const c = await doRegister(r0, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(c.status, 200);
        assert.equal(c.getHeader('Path'), undefined);
        assert.deepEqual((await r0.store.get('alice'))[0]?.path, [edgePath()]);
      });

      it('use_path 0: Path is neither stored nor echoed nor checked', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ gruu_enabled: 1, outbound_mode: 1 });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: 'outbound',
          path: edgePath(),
        });
        assert.equal(res.status, 200);
        assert.equal(res.getHeader('Path'), undefined);
        assert.deepEqual((await r.store.get('alice'))[0]?.path, []);
        assert.equal(
          (
            await doRegister(r, {
              contact: obContact(1),
              supported: 'outbound',
              path: '<sip:127.0.0.11;ob>',
            })
          ).status,
          200,
        );
      });

      it(
        'a Path whose first URI lacks lr is a 400 "Path parse error" (Kamailio: no ;ob there, so 439)',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: '<sip:127.0.0.11>',
          });
          if (kamailio) {
            // observed on 5.6.3: the Path is not parsed for lr; without ;ob the reg-id gets 439
            assert.equal(res.status, 439);
            assert.equal(
              res.getHeader('P-Registrar-Error'),
              'No support for Outbound on edge proxy',
            );
          } else {
            assert.equal(res.status, 400);
            assert.equal(res.getHeader('P-Registrar-Error'), 'Path parse error');
          }
        },
      );

      it(
        '§6.7 #80 two Vias, no Path, Supported: outbound, reg-id: 439 with P-Registrar-Error, one reply',
        undefined,
        async () => {
          const r = await registrar();
          r.h.inject(
            register({ contact: obContact(1), supported: 'outbound', viaEdge: true }),
            EDGE,
          );
          const replies = responses(await r.h.take());
          // Kamailio 5.6 follows the 439 with a 500 (outbound.md §6.7 #80; flowgate: exactly one
          // reply, decision Q-R13)
          assert.deepEqual(
            replies.map((m) => m.status),
            kamailio ? [439, 500] : [439],
          );
          const res = replies[0] as SipResponse;
          assert.equal(res.reason, 'First Hop Lacks Outbound Support');
          assert.equal(res.getHeader('P-Registrar-Error'), 'No support for Outbound on edge proxy');
          if (!kamailio) assert.deepEqual(await r.store.get('alice'), []);
          assert.deepEqual(await listed(r), []);
        },
      );

      it(
        '§6.7 #81 same without outbound in Supported: 200, reg-id ignored (stored 0, not echoed), no Require',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: 'gruu',
            viaEdge: true,
          });
          assert.equal(res.status, 200);
          const c = res.getHeader('Contact') ?? '';
          assert.equal(param(c, 'reg-id'), undefined);
          assert.equal(param(c, '+sip.instance'), `"${INSTANCE}"`);
          assert.equal(res.getHeader('Require'), undefined);
          assert.equal(res.getHeader('Supported'), 'outbound');
          // the stored reg_id (in-process forms: the location store)
          if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.regId, 0);
        },
      );

      it(
        '§6.7 #82 with a Path whose first URI has ;ob: reg-id kept and echoed',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: 'path, outbound',
            path: edgePath(),
          });
          assert.equal(res.status, 200);
          assert.equal(param(res.getHeader('Contact') ?? '', 'reg-id'), '1');
          // the stored reg_id (in-process forms: the location store)
          if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.regId, 1);
        },
      );

      it(
        'a Path without ;ob from a proxy ignores the reg-id (RFC 5626 §6), or 439 when outbound is supported',
        undefined,
        async () => {
          const r = await registrar();
          const a = await doRegister(r, {
            contact: obContact(1),
            supported: 'path',
            path: '<sip:127.0.0.11;lr>',
          });
          assert.equal(a.status, 200);
          if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.regId, 0);
          const b = await doRegister(r, {
            contact: obContact(1),
            supported: 'path, outbound',
            path: '<sip:127.0.0.11;lr>',
          });
          assert.equal(b.status, 439);
        },
      );

      it('regid_mode 1 keeps the reg-id without outbound at the first hop (no 439)', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, regid_mode: 1 });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: 'outbound',
          viaEdge: true,
        });
        assert.equal(res.status, 200);
        // the stored reg_id (in-process forms: the location store)
        if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.regId, 1);
      });

      it(
        'a UA talking to the registrar directly (one Via) keeps its reg-id',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, { contact: obContact(1), supported: 'outbound' }, UA);
          assert.equal(res.status, 200);
          assert.equal(res.getHeader('Require'), 'outbound');
          // the stored reg_id (in-process forms: the location store)
          if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.regId, 1);
        },
      );

      it(
        '§6.7 #83 Require: outbound (mode 1) with a reg-id: 200 with Require: outbound',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: 'path, gruu',
            require: 'outbound',
            path: edgePath(),
          });
          assert.equal(res.status, 200);
          assert.equal(res.getHeader('Require'), 'outbound');
        },
      );

      it(
        'decision Q-R4: no reg-id applied → no Require: outbound even when the UA supports outbound (Kamailio: Require whenever the UA lists outbound)',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: '<sip:alice@192.0.2.21:5070>',
            supported: SUP,
            path: edgePath(),
          });
          assert.equal(res.status, 200);
          assert.equal(res.getHeader('Supported'), 'outbound');
          assert.equal(res.getHeader('Require'), kamailio ? 'outbound' : undefined);
          // a query applies nothing either: no Require, so the edge adds no Flow-Timer (outbound.md
          // §6.5 #62 says the seed answers a query with Require: outbound [V]; flowgate does not,
          // decision Q-R4; end to end in chain.case.ts)
          const q = await doRegister(r, { supported: SUP, path: edgePath() });
          assert.equal(q.status, 200);
          assert.equal(q.getHeader('Require'), kamailio ? 'outbound' : undefined);
        },
      );

      it('flow_timer > 0: Flow-Timer after Require: outbound', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, flow_timer: 25 });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
        });
        assert.deepEqual(headerNames(res).slice(-4), [
          'Supported',
          'Require',
          'Flow-Timer',
          'Content-Length',
        ]);
        assert.equal(res.getHeader('Flow-Timer'), '25');
      });

      it('§6.7 #84 outbound_mode 2 and Supported: path only: 421 with Require and Supported: outbound', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, outbound_mode: 2 });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: 'path',
          path: edgePath(),
        });
        assert.equal(res.status, 421);
        assert.equal(res.reason, 'Extension Required');
        assert.equal(res.getHeader('Require'), 'outbound');
        assert.equal(res.getHeader('Supported'), 'outbound');
        assert.equal(res.getHeader('P-Registrar-Error'), 'No support for Outbound indicated');
        // quirk Q-R1 kept: no Supported header at all passes, and mode 2 always adds Require
        const ok = await doRegister(r, { contact: '<sip:alice@192.0.2.21:5070>' }, UA);
        assert.equal(ok.status, 200);
        assert.deepEqual(headerNames(ok).slice(-3), ['Require', 'Supported', 'Content-Length']);
      });

      it('§6.7 #85 outbound_mode 0 and Require: outbound: 420 with Unsupported: outbound', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ use_path: 1 });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: 'path',
          require: 'outbound',
          path: edgePath(),
        });
        assert.equal(res.status, 420);
        assert.equal(res.getHeader('Unsupported'), 'outbound');
        assert.equal(res.getHeader('P-Registrar-Error'), 'No support for Outbound on server');
        // mode 0 adds no outbound tags to a 200
        const ok = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(ok.getHeader('Supported'), undefined);
        assert.equal(ok.getHeader('Require'), undefined);
      });

      it('§6.7 #86 Expires 30 is raised to 60', undefined, async () => {
        const r = await registrar();
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          expires: 30,
        });
        assert.equal(param(res.getHeader('Contact') ?? '', 'expires'), '60');
        if (!kamailio)
          assert.equal((await r.store.get('alice'))[0]?.expires, r.clock.wallNow() + 60_000);
      });

      it(
        '§6.7 #86 Expires 0 for an existing binding removes it; Contact expires=abc gives 3600',
        undefined,
        async () => {
          const r = await registrar();
          const a = await doRegister(r, {
            contact: `${obContact(1)};expires=abc`,
            supported: SUP,
            path: edgePath(),
          });
          assert.equal(param(a.getHeader('Contact') ?? '', 'expires'), '3600');
          const b = await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            expires: 0,
          });
          assert.equal(b.status, 200);
          assert.equal(b.getHeader('Contact'), undefined);
          if (!kamailio) assert.deepEqual(await r.store.get('alice'), []);
          assert.deepEqual(await listed(r), []);
        },
      );

      it('expiry: Contact expires wins over the Expires header; default 3600; max_expires caps', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, max_expires: 1800 });
        const a = await doRegister(r, {
          contact: `${obContact(1)};expires=120`,
          supported: SUP,
          path: edgePath(),
          expires: 900,
        });
        assert.equal(param(a.getHeader('Contact') ?? '', 'expires'), '120');
        const b = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(param(b.getHeader('Contact') ?? '', 'expires'), '1800');
      });

      it('min_expires_mode 1: below min_expires → 423 Interval Too Brief with Min-Expires', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, min_expires_mode: 1 });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          expires: 30,
        });
        assert.equal(res.status, 423);
        assert.equal(res.reason, 'Interval Too Brief');
        assert.equal(res.getHeader('Min-Expires'), '60');
        assert.equal(res.getHeader('P-Registrar-Error'), 'Interval too brief');
        assert.deepEqual(await r.store.get('alice'), []);
      });

      it('the 200 OK lists every binding with its remaining expires', {
        kamailio: 'needs 100 s of real time',
      }, async () => {
        const r = await registrar();
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          expires: 600,
          callId: 'x',
        });
        await r.h.advance(100_500);
        const res = await doRegister(r, {
          contact: obContact(1, { instance: INSTANCE2 }),
          supported: SUP,
          path: edgePath(TOKEN2),
          expires: 300,
          callId: 'y',
        });
        const cs = replyContacts(res);
        assert.equal(cs.length, 2);
        assert.equal(param(cs[0] ?? '', 'expires'), '500', 'rounded up: 499.5 s left');
        assert.equal(param(cs[1] ?? '', 'expires'), '300');
      });

      it(
        'a retransmitted outbound REGISTER (same Call-ID and CSeq) gets the same answer: 200 with Require: outbound, nothing changed',
        undefined,
        async () => {
          const r = await registrar();
          const req = {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'rx1',
            cseq: 7,
          };
          const a = await doRegister(r, req);
          const [before] = kamailio ? [] : await r.store.get('alice');
          await r.h.advance(500);
          const b = await doRegister(r, req);
          for (const res of [a, b]) {
            assert.equal(res.status, 200);
            assert.equal(res.getHeader('Require'), 'outbound');
          }
          if (!kamailio) assert.deepEqual(await r.store.get('alice'), [before]);
          assert.equal(replyContacts(b).length, 1);
        },
      );

      it(
        '§6.7 #87 refresh from a new port (same instance, reg-id, Call-ID): one binding, URI replaced, same ruid',
        undefined,
        async () => {
          const r = await registrar();
          const a = await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'c1',
            cseq: 1,
          });
          const [before] = kamailio ? [] : await r.store.get('alice');
          await r.h.advance(kamailio ? 1000 : 5000);
          const b = await doRegister(r, {
            contact: obContact(1, { port: 6000 }),
            supported: SUP,
            path: edgePath(TOKEN2),
            callId: 'c1',
            cseq: 2,
          });
          if (!kamailio) {
            assert.ok(before);
            const list = await r.store.get('alice');
            assert.equal(list.length, 1);
            assert.equal(list[0]?.ruid, before.ruid);
            assert.equal(list[0]?.contact, 'sip:alice@192.0.2.21:6000;ob');
            assert.deepEqual(list[0]?.path, [edgePath(TOKEN2)]);
          }
          assert.deepEqual(
            replyContacts(b).map((c) => c.slice(0, c.indexOf('>') + 1)),
            ['<sip:alice@192.0.2.21:6000;ob>'],
          );
          const ta = param(a.getHeader('Contact') ?? '', 'temp-gruu');
          const tb = param(b.getHeader('Contact') ?? '', 'temp-gruu');
          assert.ok(ta !== undefined && tb !== undefined);
          if (kamailio) {
            // the seed on Kamailio keeps the temp-GRUU for the binding's life (outbound.md §6.7 #87 [V])
            assert.equal(ta, tb);
          } else {
            // decision Q-R11: a new temp-GRUU per refresh; the ruid part stays (see gruu.test.ts for routing)
            assert.notEqual(ta, tb);
            assert.equal(ta.split('.')[0], tb.split('.')[0]);
          }
          assert.equal(replyContacts(b).length, 1);
        },
      );

      it(
        '§6.7 #88 a second flow (reg-id 2, same instance): two bindings, older first',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'c1',
          });
          await r.h.advance(1000);
          const res = await doRegister(r, {
            contact: obContact(2, { port: 5071 }),
            supported: SUP,
            path: edgePath(TOKEN2),
            callId: 'c1',
          });
          const cs = replyContacts(res);
          assert.equal(cs.length, 2);
          assert.equal(param(cs[0] ?? '', 'reg-id'), '1');
          assert.equal(param(cs[1] ?? '', 'reg-id'), '2');
        },
      );

      it(
        '§6.7 #89 flow 1 refreshed with a new Call-ID: flow 2 is removed ("reboot")',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'c1',
          });
          await doRegister(r, {
            contact: obContact(2, { port: 5071 }),
            supported: SUP,
            path: edgePath(TOKEN2),
            callId: 'c2',
          });
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'c3',
          });
          assert.equal(replyContacts(res).length, 1);
          if (!kamailio)
            assert.deepEqual(
              (await r.store.get('alice')).map((b) => b.regId),
              [1],
            );
          assert.equal((await listed(r)).length, 1);
        },
      );

      it(
        '§6.7 #90 contact without instance, same Call-ID: lower CSeq → 400 "Invalid CSeq number"',
        undefined,
        async () => {
          const r = await registrar();
          const c = '<sip:alice@192.0.2.21:5070>';
          assert.equal(
            (await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA)).status,
            200,
          );
          const res = await doRegister(r, { contact: c, callId: 'k', cseq: 9 }, UA);
          assert.equal(res.status, 400);
          assert.equal(res.reason, reasonOf('Invalid CSeq number', 400));
          assert.equal(res.getHeader('P-Registrar-Error'), 'Invalid CSeq number');
        },
      );

      it(
        '§6.7 #90 same CSeq within 20 s is a retransmission → 200; after 20 s → 400',
        undefined,
        async () => {
          const r = await registrar();
          const c = '<sip:alice@192.0.2.21:5070>';
          await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA);
          // 15 s, not 19: against Kamailio the time is real, and a loaded machine adds to it
          await r.h.advance(15_000);
          const again = await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA);
          assert.equal(again.status, 200);
          assert.equal(replyContacts(again).length, 1);
          await r.h.advance(6_000);
          assert.equal(
            (await doRegister(r, { contact: c, callId: 'k', cseq: 10 }, UA)).status,
            400,
          );
          // a different Call-ID is a new registration of the same contact: no CSeq check
          assert.equal(
            (await doRegister(r, { contact: c, callId: 'other', cseq: 1 }, UA)).status,
            200,
          );
        },
      );

      it(
        'a retransmitted outbound REGISTER changes nothing (no new temp-GRUU)',
        undefined,
        async () => {
          const r = await registrar();
          const raw = register({
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'rt',
            cseq: 7,
          });
          r.h.inject(raw, EDGE);
          const [a] = responses(await r.h.take());
          r.h.inject(raw, EDGE);
          const [b] = responses(await r.h.take());
          assert.equal(a?.getHeader('Contact'), b?.getHeader('Contact'));
          if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.tempGruus.length, 1);
        },
      );

      it(
        '§6.7 #91 Contact: * with Expires: 0 removes every binding; 200 without Contact',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
            callId: 'a',
          });
          await doRegister(r, {
            contact: obContact(1, { instance: INSTANCE2 }),
            supported: SUP,
            path: edgePath(TOKEN2),
            callId: 'b',
          });
          const res = await doRegister(r, {
            contact: '*',
            expires: 0,
            supported: SUP,
            path: edgePath(),
          });
          assert.equal(res.status, 200);
          assert.equal(res.getHeader('Contact'), undefined);
          if (kamailio) {
            // observed on 5.6.3: "*" through the edge (Path, Supported: outbound) is answered 200,
            // then 500 (Q-R13), and the bindings stay; sent by the UA itself it removes them
            assert.equal((await listed(r)).length, 2);
            assert.equal((await doRegister(r, { contact: '*', expires: 0 }, UA)).status, 200);
          } else assert.deepEqual(await r.store.get('alice'), []);
          assert.deepEqual(await listed(r), []);
        },
      );

      it(
        '§6.7 #91 Contact: * with Expires 10, or without Expires, or mixed: 400',
        undefined,
        async () => {
          const r = await registrar();
          const a = await doRegister(r, { contact: '*', expires: 10 }, UA);
          assert.equal(a.status, 400);
          assert.equal(
            a.getHeader('P-Registrar-Error'),
            '* used in contact and expires is not zero',
          );
          assert.equal((await doRegister(r, { contact: '*' }, UA)).status, 400);
          const m = await doRegister(
            r,
            { contact: ['*', '<sip:alice@192.0.2.21>'], expires: 0 },
            UA,
          );
          assert.equal(m.status, 400);
          assert.equal(
            m.getHeader('P-Registrar-Error'),
            '* used in contact and more than 1 contact',
          );
        },
      );

      it('§6.7 #92 REGISTER without Contact lists the current valid bindings', {
        kamailio: 'needs 100 s of real time',
      }, async () => {
        const r = await registrar();
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          expires: 100,
          callId: 'a',
        });
        await doRegister(r, {
          contact: obContact(1, { instance: INSTANCE2 }),
          supported: SUP,
          path: edgePath(TOKEN2),
          expires: 600,
          callId: 'b',
        });
        await r.h.advance(100_000);
        const res = await doRegister(r, { supported: SUP, path: edgePath() });
        assert.equal(res.status, 200);
        const cs = replyContacts(res);
        assert.equal(cs.length, 1, 'the expired one is not listed');
        assert.equal(param(cs[0] ?? '', '+sip.instance'), `"${INSTANCE2}"`);
        const empty = await doRegister(r, { user: 'nobody', supported: SUP, path: edgePath() });
        assert.equal(empty.status, 200);
        assert.equal(empty.getHeader('Contact'), undefined);
      });

      it(
        '§6.7 #93 reg-id=0 or non-numeric with an instance: 400 "Invalid Reg-Id number", nothing stored (decision Q-R5; the seed: 200, nothing stored)',
        undefined,
        async () => {
          const r = await registrar();
          for (const bad of ['0', 'abc', '2147483648']) {
            const res = await doRegister(r, {
              contact: `<sip:alice@192.0.2.21:5070;ob>;reg-id=${bad};+sip.instance="${INSTANCE}"`,
              supported: SUP,
              path: edgePath(),
            });
            if (kamailio) {
              // seed-exact (outbound.md §6.7 #93): a 200 that stores nothing (then the 500 of
              // Q-R13); observed on 5.6.3: 2147483648 is taken as a reg-id and stored
              assert.equal(res.status, 200, bad);
              assert.equal((await listed(r)).length, bad === '2147483648' ? 1 : 0, bad);
              if (bad === '2147483648')
                assert.equal(param(res.getHeader('Contact') ?? '', 'reg-id'), bad);
            } else {
              assert.equal(res.status, 400, bad);
              assert.equal(res.reason, 'Invalid Reg-Id number');
            }
          }
          if (!kamailio) {
            assert.deepEqual(await r.store.get('alice'), []);
            assert.deepEqual(await listed(r), []);
          }
        },
      );

      it('RFC 5626 §6: a reg-id without instance is ignored (keyed by Contact URI, reg_id 0)', {
        kamailio: WHY.state,
      }, async () => {
        const r = await registrar();
        const res = await doRegister(r, {
          contact: '<sip:alice@192.0.2.21:5070;ob>;reg-id=abc',
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(res.status, 200);
        assert.equal(res.getHeader('Require'), undefined);
        // the stored reg_id (in-process forms: the location store)
        if (!kamailio) assert.equal((await r.store.get('alice'))[0]?.regId, 0);
      });

      it(
        '§6.7 #94 two contacts with reg-id in one REGISTER: 400 (decision Q-R2; the seed stores both)',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: [obContact(1), obContact(2, { port: 5071 })],
            supported: SUP,
            path: edgePath(),
          });
          if (kamailio) {
            // seed-exact (outbound.md §6.7 #94): both stored
            assert.equal(res.status, 200);
            assert.equal((await listed(r)).length, 2);
            return;
          }
          assert.equal(res.status, 400);
          assert.equal(res.reason, 'Multiple Reg-Id Contacts');
          assert.deepEqual(await r.store.get('alice'), []);
          // RFC 5626 §6: also a reg-id contact beside another live one; an expiring one may accompany it
          assert.equal(
            (
              await doRegister(r, {
                contact: [obContact(1), '<sip:alice@192.0.2.99>'],
                supported: SUP,
                path: edgePath(),
              })
            ).status,
            400,
          );
          assert.equal(
            (
              await doRegister(r, {
                contact: [obContact(1), '<sip:alice@192.0.2.99>;expires=0'],
                supported: SUP,
                path: edgePath(),
              })
            ).status,
            200,
          );
        },
      );

      it(
        '§6.7 #96 Contact URI longer than 512 bytes: 400 "Contact/received too long"',
        undefined,
        async () => {
          const r = await registrar();
          const long = `<sip:${'a'.repeat(520)}@192.0.2.21>`;
          const res = await doRegister(r, { contact: long }, UA);
          assert.equal(res.status, 400);
          assert.equal(res.getHeader('P-Registrar-Error'), 'Contact/received too long');
        },
      );

      it(
        'q ordering: q descending, equal q older first, no q last; q printed 1 / 0.5 / 0.25',
        undefined,
        async () => {
          const r = await registrar();
          const reg = async (host: string, q: string | undefined) => {
            const c = `<sip:alice@${host}>${q === undefined ? '' : `;q=${q}`}`;
            await doRegister(r, { contact: c, callId: `q-${host}` }, UA);
            await r.h.advance(1000);
          };
          await reg('192.0.2.1', undefined);
          await reg('192.0.2.2', '0.5');
          await reg('192.0.2.3', '1.0');
          await reg('192.0.2.4', '0.5');
          await reg('192.0.2.5', '0.25');
          const res = await doRegister(r, {}, UA);
          const cs = replyContacts(res);
          assert.deepEqual(
            cs.map((c) => c.slice(0, c.indexOf(';expires'))),
            [
              '<sip:alice@192.0.2.3>;q=1',
              '<sip:alice@192.0.2.2>;q=0.5',
              '<sip:alice@192.0.2.4>;q=0.5',
              '<sip:alice@192.0.2.5>;q=0.25',
              '<sip:alice@192.0.2.1>',
            ],
          );
        },
      );

      it(
        'a bad q is a 400 "Invalid q param in contact"; received is stored and echoed quoted',
        undefined,
        async () => {
          const r = await registrar();
          const bad = await doRegister(r, { contact: '<sip:alice@192.0.2.21>;q=2' }, UA);
          assert.equal(bad.status, 400);
          assert.equal(bad.getHeader('P-Registrar-Error'), 'Invalid q param in contact');
          const ok = await doRegister(
            r,
            { contact: '<sip:alice@10.0.0.1>;received="sip:192.0.2.21:5070"' },
            UA,
          );
          assert.equal(param(ok.getHeader('Contact') ?? '', 'received'), '"sip:192.0.2.21:5070"');
        },
      );

      it('AoR: user kept as written, host lower-cased, domain ignored (use_domain 0, decision Q-R6)', {
        kamailio: WHY.state,
      }, async () => {
        const r = await registrar();
        await doRegister(
          r,
          { user: 'Alice', domain: 'Example.COM', contact: '<sip:Alice@192.0.2.21>' },
          UA,
        );
        assert.equal((await r.store.get('Alice')).length, 1);
        assert.equal((await r.store.get('alice')).length, 0);
        // %-escapes are decoded: A%6cice is Alice
        await doRegister(
          r,
          { user: 'A%6cice', contact: '<sip:Alice@192.0.2.22>', callId: 'e' },
          UA,
        );
        assert.equal((await r.store.get('Alice')).length, 2);
      });

      it('AoR with use_domain 1: user@host, host lower-cased; other domains are other AoRs', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, use_domain: 1 });
        await doRegister(
          r,
          { user: 'alice', domain: 'A.example.com', contact: '<sip:alice@192.0.2.21>' },
          UA,
        );
        assert.equal((await r.store.get('alice@a.example.com')).length, 1);
        const q = await doRegister(r, { user: 'alice', domain: 'b.example.com' }, UA);
        assert.equal(q.getHeader('Contact'), undefined);
      });

      it(
        'AoR errors: no user in To → 400; bad escape → 400; too long → 500',
        undefined,
        async () => {
          const r = await registrar();
          const raw = register({ contact: '<sip:x@192.0.2.21>' }).replace(
            'To: <sip:alice@example.com>',
            'To: <sip:example.com>',
          );
          r.h.inject(raw, UA);
          const [a] = responses(await r.h.take());
          if (kamailio) {
            // observed on 5.6.3: stored under the empty AoR (removed again here: kamcmd cannot)
            assert.equal(a?.status, 200);
            r.h.inject(
              register({ contact: '*', expires: 0 }).replace(
                'To: <sip:alice@example.com>',
                'To: <sip:example.com>',
              ),
              UA,
            );
            assert.equal(responses(await r.h.take())[0]?.status, 200);
          } else {
            assert.equal(a?.status, 400);
            assert.equal(a?.getHeader('P-Registrar-Error'), 'No username in To URI');
          }
          const b = await doRegister(r, { user: 'a%zz', contact: '<sip:x@192.0.2.21>' }, UA);
          assert.equal(b.status, 400);
          const c = await doRegister(
            r,
            { user: 'u'.repeat(249), contact: '<sip:x@192.0.2.21>' },
            UA,
          );
          assert.equal(c.status, 500);
          assert.equal(c.reason, reasonOf('Address Of Record Too Long', 500));
        },
      );

      it('max_contacts: an insert beyond it → 503 "Too many registered contacts", save returns -2', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({ ...SEED_PARAMS, max_contacts: 1 });
        assert.equal(
          (await doRegister(r, { contact: '<sip:alice@192.0.2.1>', callId: 'm' }, UA)).status,
          200,
        );
        const res = await doRegister(r, { contact: '<sip:alice@192.0.2.2>', callId: 'm' }, UA);
        assert.equal(res.status, 503);
        assert.equal(res.getHeader('P-Registrar-Error'), 'Too many registered contacts');
        // refreshing the one binding is still fine
        assert.equal(
          (await doRegister(r, { contact: '<sip:alice@192.0.2.1>', callId: 'm' }, UA)).status,
          200,
        );
      });

      it('retry_after: Retry-After on 5xx replies', { kamailio: WHY.params }, async () => {
        const r = await registrar({ ...SEED_PARAMS, max_contacts: 1, retry_after: 30 });
        await doRegister(r, { contact: '<sip:alice@192.0.2.1>' }, UA);
        const res = await doRegister(r, { contact: '<sip:alice@192.0.2.2>', callId: 'z' }, UA);
        assert.equal(res.getHeader('Retry-After'), '30');
      });
    });

    describe('save: store failures', () => {
      it('a store that rejects apply(): 500 with a reason, nothing written, the server keeps working', {
        kamailio: WHY.state,
      }, async () => {
        const r = await registrar();
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          callId: 'a',
        });
        const before = await r.store.get('alice');
        r.store.failing.add('apply');
        const res = await doRegister(r, {
          contact: obContact(1, { instance: INSTANCE2 }),
          supported: SUP,
          path: edgePath(TOKEN2),
          callId: 'b',
        });
        assert.equal(res.status, 500);
        assert.equal(res.reason, 'Location Store Unavailable');
        assert.equal(res.getHeader('P-Registrar-Error'), 'Location store failure');
        assert.deepEqual(await r.store.get('alice'), before);
        // the backend comes back
        r.store.failing.clear();
        const ok = await doRegister(r, {
          contact: obContact(1, { instance: INSTANCE2 }),
          supported: SUP,
          path: edgePath(TOKEN2),
          callId: 'b',
        });
        assert.equal(ok.status, 200);
        assert.equal(replyContacts(ok).length, 2);
      });

      it('a store that rejects get(): 500, no write attempted', {
        kamailio: WHY.state,
      }, async () => {
        const r = await registrar();
        r.store.failing.add('get');
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(res.status, 500);
        assert.equal(r.store.applyCalls, 0);
      });

      it('save flag NoReply: no reply from save; sl_reply_error() answers with the recorded error', {
        cfg: WHY.ownScript,
        kamailio: WHY.ownScript,
      }, async () => {
        const script = defineScript({
          async request_route(ctx) {
            if (!(await ctx.save('location', 0x02))) ctx.sl_reply_error();
            ctx.exit();
          },
        });
        const r = await registrar(SEED_PARAMS, { script });
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: 'outbound',
          viaEdge: true,
        });
        assert.equal(res.status, 439);
        assert.equal(res.reason, 'First Hop Lacks Outbound Support');
        // success with NoReply: the script must answer; here it does not, so nothing is sent
        r.h.inject(register({ contact: '<sip:alice@192.0.2.21>' }), UA);
        assert.equal((await r.h.take()).length, 0);
        assert.equal((await r.store.get('alice')).length, 1);
      });
    });

    describe('registrar script (seed Example 1.2)', () => {
      it(
        '§6.7 #76 REGISTER through the edge: one 200 OK with the exact header set, sent back to the edge',
        undefined,
        async () => {
          const r = await registrar();
          // what the registrar really sent, unfiltered (not even Kamailio's second reply of Q-R13)
          r.h.inject(
            register({ contact: obContact(1), supported: SUP, path: edgePath(), expires: 600 }),
            EDGE,
          );
          const sent = await r.h.take(1);
          // the only message sent: the reply, to the top Via (the edge, 127.0.0.11 port 5060) from
          // the registrar's UDP socket; nothing is relayed or sent anywhere else
          assert.deepEqual(
            sent.map((s) => `${s.to} ${s.listener.proto}`),
            [`w0/u0/${EDGE} udp`],
          );
          const res = sent[0]?.msg as SipResponse;
          assert.equal(res.isRequest, false);
          assert.equal(res.status, 200);
          assert.equal(res.reason, 'OK');
          // the file leaves server_signature on: a local reply names the server (Kamailio writes
          // that header last; header order among different names carries no meaning, RFC 3261 §7.3.1)
          const order = ['Via', 'Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Path'];
          assert.deepEqual(
            headerNames(res),
            kamailio
              ? [...order, 'Supported', 'Require', 'Server', 'Content-Length']
              : [
                  ...order.slice(0, 6),
                  'Server',
                  ...order.slice(6),
                  'Supported',
                  'Require',
                  'Content-Length',
                ],
          );
          // the temp-GRUU: flowgate adds a nonce per refresh (decision Q-R11); the seed's is
          // <ruid>-<AoR hash> for the binding's life (Kamailio's ruid: uloc-<time>-<pid>-<counter>,
          // each in hex: the counter reads "c1" after a few hundred bindings)
          const temp = kamailio
            ? 'sip:uloc-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-dd7f25d6@example\\.com;gr'
            : 'sip:uloc-[0-9a-f]+-[0-9a-f]+-1-dd7f25d6\\.[0-9a-f]{16}@example\\.com;gr';
          assert.match(
            res.getHeader('Contact') ?? '',
            new RegExp(
              `^<sip:alice@192\\.0\\.2\\.21:5070;ob>;expires=600;pub-gruu="sip:alice@example\\.com;gr=urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF";temp-gruu="${temp}";\\+sip\\.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";reg-id=1$`,
            ),
          );
          assert.equal(res.getHeader('Path'), edgePath());
          assert.equal(res.getHeader('Supported'), 'outbound');
          assert.equal(res.getHeader('Require'), 'outbound');
          assert.match(res.getHeader('To') ?? '', /;tag=/);
        },
      );

      it(
        '§6.8 #97 INVITE to a user with one contact is relayed (decision Q-R7; the seed on Kamailio: 500)',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
          const sent = await call(r, 'sip:alice@example.com');
          if (kamailio) {
            // seed-exact (outbound.md §6.8 #97 [V]): t_next_contacts() has nothing for one target
            assert.deepEqual(
              finalTo(sent, CALLER).map((m) => `${m.status} ${m.reason}`),
              ["500 I'm terribly sorry, server error occurred (1/SL)"],
            );
            assert.equal(requests(sent, 'INVITE').length, 0);
            return;
          }
          const trying = responses(sent).filter((m) => m.status === 100);
          assert.equal(trying.length, 1);
          const inv = requests(sent, 'INVITE');
          assert.equal(inv.length, 1);
          assert.equal(dest(inv[0]?.to ?? ''), `udp:${EDGE}`);
          assert.equal(inv[0]?.msg.uri, 'sip:alice@192.0.2.21:5070;ob');
          assert.equal(finalTo(sent, CALLER).length, 0);
        },
      );

      it('§6.8 #112 the branch carries Route: <path> and goes to the first Path URI; Record-Route is added', {
        kamailio: ONE_TARGET,
      }, async () => {
        const r = await registrar();
        await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
        const sent = await call(r, 'sip:alice@example.com');
        const inv = requests(sent, 'INVITE')[0];
        assert.ok(inv);
        assert.deepEqual(routeOf(inv.msg), [edgePath()]);
        assert.equal(dest(inv.to), 'udp:127.0.0.11:5060');
        assert.equal(inv.msg.getHeaders('Record-Route').length, 1);
        assert.match(inv.msg.getHeader('Record-Route') ?? '', /^<sip:127\.0\.0\.1;lr>$/);
      });

      it('§6.8 several Path values are stored in order and become Route headers in order', {
        kamailio: ONE_TARGET,
      }, async () => {
        const r = await registrar();
        const p2 = '<sip:proxy2.example.net;lr>';
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: [edgePath(), p2],
        });
        assert.equal(res.getHeader('Path'), `${edgePath()},${p2}`);
        const inv = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
        assert.ok(inv);
        assert.deepEqual(routeOf(inv.msg), [edgePath(), p2]);
        assert.equal(dest(inv.to), `udp:${EDGE}`);
      });

      it(
        '§6.8 #98 INVITE to a user without bindings: 404 Not Found (stateful)',
        undefined,
        async () => {
          const r = await registrar();
          const sent = await call(r, 'sip:nobody@example.com');
          const finals = finalTo(sent, CALLER);
          assert.deepEqual(
            finals.map((m) => `${m.status} ${m.reason}`),
            ['404 Not Found'],
          );
          // flowgate's t_newtran() answers an INVITE 100 Trying at once (RFC 3261 §16.2:
          // a stateful proxy that takes more than 200 ms); Kamailio's sends none before the 404
          assert.equal(responses(sent).filter((m) => m.status === 100).length, kamailio ? 0 : 1);
        },
      );

      it(
        '§6.8 #98 the 404 is stateful: a retransmitted INVITE gets it again from the transaction, without a new lookup',
        undefined,
        async () => {
          const r = await registrar();
          const raw = invite('sip:alice@example.com');
          r.h.inject(raw, CALLER);
          assert.deepEqual(
            finalTo(await r.h.take(), CALLER).map((m) => m.status),
            [404],
          );
          // alice registers meanwhile; the retransmission is absorbed by the transaction all the same
          await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
          r.h.inject(raw, CALLER);
          const sent = await r.h.take();
          assert.equal(requests(sent, 'INVITE').length, 0);
          assert.deepEqual(
            finalTo(sent, CALLER).map((m) => m.status),
            [404],
          );
        },
      );

      it('§6.8 #99 R-URI without user: 484 Address Incomplete', undefined, async () => {
        const r = await registrar();
        const sent = await call(r, 'sip:example.com');
        assert.deepEqual(
          finalTo(sent, CALLER).map((m) => `${m.status} ${m.reason}`),
          ['484 Address Incomplete'],
        );
      });

      it(
        '§6.8 #103 two flows of one instance: only flow 1 is tried, flow 2 waits',
        undefined,
        async () => {
          const r = await registrar();
          await twoFlows(r);
          const inv = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
          assert.equal(inv.length, 1);
          assert.deepEqual(routeOf(inv[0]?.msg as SipRequest), [edgePath(TOKEN1)]);
        },
      );

      it(
        '§6.8 #104 #111 flow 1 answers 430: its binding is removed and flow 2 is tried in the same transaction',
        undefined,
        async () => {
          const r = await registrar();
          await twoFlows(r);
          const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
          assert.ok(inv1);
          answer(r, inv1.msg, 430, 'Flow Failed');
          const sent = await r.h.take();
          const inv2 = requests(sent, 'INVITE');
          assert.equal(inv2.length, 1, 'flow 2 tried');
          assert.deepEqual(routeOf(inv2[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
          assert.equal(inv2[0]?.msg.callId, inv1.msg.callId, 'same transaction');
          assert.equal(inv2[0]?.msg.getHeader('CSeq'), inv1.msg.getHeader('CSeq'));
          assert.equal(finalTo(sent, CALLER).length, 0, 'no final reply yet');
          // #111: only flow 2 is left
          if (!kamailio)
            assert.deepEqual(
              (await r.store.get('alice')).map((b) => b.regId),
              [2],
            );
          answer(r, inv2[0]?.msg as SipRequest, 486, 'Busy Here');
          await r.h.take();
          assert.deepEqual(await listed(r), ['<sip:alice@192.0.2.21:5071;ob>']);
          // a new INVITE goes to flow 2 alone (the seed on Kamailio: one target is a 500, Q-R7)
          const next = await call(r, 'sip:alice@example.com');
          const again = requests(next, 'INVITE');
          if (kamailio) {
            assert.equal(again.length, 0);
            assert.deepEqual(
              finalTo(next, CALLER).map((m) => m.status),
              [500],
            );
          } else {
            assert.equal(again.length, 1);
            assert.deepEqual(routeOf(again[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
          }
        },
      );

      it(
        '§6.8 #108 flow 1 430, flow 2 486: the caller gets 486 (decision Q-R8; the seed on Kamailio: 480)',
        undefined,
        async () => {
          const r = await registrar();
          await twoFlows(r);
          const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
          assert.ok(inv1);
          answer(r, inv1.msg, 430, 'Flow Failed');
          const inv2 = requests(await r.h.take(), 'INVITE')[0];
          assert.ok(inv2);
          answer(r, inv2.msg, 486, 'Busy Here');
          const finals = finalTo(await r.h.take(), CALLER);
          assert.deepEqual(
            finals.map((m) => `${m.status} ${m.reason}`),
            // seed-exact (outbound.md §6.8 #108 [V]): 430 is the best reply, the failure route
            // turns it into 480
            kamailio ? ['480 Temporarily Unavailable'] : ['486 Busy Here'],
          );
        },
      );

      it(
        '§6.8 #109 every flow answers 430: the caller gets 480 Temporarily Unavailable',
        undefined,
        async () => {
          const r = await registrar();
          await twoFlows(r);
          const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
          assert.ok(inv1);
          answer(r, inv1.msg, 430, 'Flow Failed');
          const inv2 = requests(await r.h.take(), 'INVITE')[0];
          assert.ok(inv2);
          answer(r, inv2.msg, 430, 'Flow Failed');
          const finals = finalTo(await r.h.take(), CALLER);
          assert.deepEqual(
            finals.map((m) => `${m.status} ${m.reason}`),
            ['480 Temporarily Unavailable'],
          );
          if (!kamailio) assert.deepEqual(await r.store.get('alice'), []);
          assert.deepEqual(await listed(r), []);
        },
      );

      it('§6.8 #106 flow 1 answers 403: binding removed, flow 2 tried', undefined, async () => {
        const r = await registrar();
        await twoFlows(r);
        const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
        assert.ok(inv1);
        answer(r, inv1.msg, 403, 'Forbidden');
        const inv2 = requests(await r.h.take(), 'INVITE');
        assert.equal(inv2.length, 1);
        assert.deepEqual(routeOf(inv2[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
        if (!kamailio)
          assert.deepEqual(
            (await r.store.get('alice')).map((b) => b.regId),
            [2],
          );
        answer(r, inv2[0]?.msg as SipRequest, 486, 'Busy Here');
        await r.h.take();
        assert.deepEqual(await listed(r), ['<sip:alice@192.0.2.21:5071;ob>']);
      });

      it(
        '§6.8 #107 flow 1 answers 486: nothing removed, no other flow tried, 486 relayed',
        undefined,
        async () => {
          const r = await registrar();
          await twoFlows(r);
          const inv1 = requests(await call(r, 'sip:alice@example.com'), 'INVITE')[0];
          assert.ok(inv1);
          answer(r, inv1.msg, 486, 'Busy Here');
          const sent = await r.h.take();
          assert.equal(requests(sent, 'INVITE').length, 0);
          assert.deepEqual(
            finalTo(sent, CALLER).map((m) => m.status),
            [486],
          );
          if (!kamailio) assert.equal((await r.store.get('alice')).length, 2);
          assert.equal((await listed(r)).length, 2);
        },
      );

      it(
        '§6.8 #105 flow 1 times out without any reply (MESSAGE): removed, flow 2 tried',
        undefined,
        async () => {
          const r = await registrar();
          await twoFlows(r);
          const m1 = requests(
            await call(r, 'sip:alice@example.com', { method: 'MESSAGE' }),
            'MESSAGE',
          );
          assert.equal(m1.length, 1);
          // RFC 3261 Timer F: 64*T1 = 32 s without a reply (Kamailio: fr_timer, 30 s); over real
          // time, answer flow 2 as soon as it is tried: Kamailio's max_noninv_lifetime (32 s)
          // counts from the first branch
          let sent: WireSent[] = [];
          if (kamailio) {
            const end = Date.now() + 35_000;
            while (
              Date.now() < end &&
              !sent.some(
                (s) => s.msg.isRequest && routeOf(s.msg as SipRequest)[0] === edgePath(TOKEN2),
              )
            )
              sent.push(...(await r.h.take(1)));
          } else {
            await r.h.advance(33_000);
            sent = await r.h.take();
          }
          const m2 = requests(sent, 'MESSAGE').filter(
            (s) => routeOf(s.msg)[0] === edgePath(TOKEN2),
          );
          // one branch (over real UDP, its retransmissions come too: counted by branch)
          assert.equal(new Set(m2.map((s) => s.msg.getHeader('Via'))).size, 1, 'flow 2 tried');
          if (!kamailio)
            assert.deepEqual(
              (await r.store.get('alice')).map((b) => b.regId),
              [2],
            );
          answer(r, m2[0]?.msg as SipRequest, 200, 'OK');
          assert.deepEqual(
            finalTo(await r.h.take(), CALLER).map((m) => m.status),
            [200],
          );
          assert.deepEqual(await listed(r), ['<sip:alice@192.0.2.21:5071;ob>']);
        },
      );

      it(
        '§6.8 #102 two bindings without instance and equal q are forked in parallel',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(
            r,
            { contact: '<sip:alice@192.0.2.31:5060>', viaEdge: false },
            '192.0.2.31:5060',
          );
          await r.h.advance(1000);
          await doRegister(
            r,
            { contact: '<sip:alice@192.0.2.32:5060>', viaEdge: false, callId: 'other' },
            '192.0.2.32:5060',
          );
          const inv = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
          assert.deepEqual(inv.map((s) => dest(s.to)).sort(), [
            'udp:192.0.2.31:5060',
            'udp:192.0.2.32:5060',
          ]);
        },
      );

      it(
        '§6.8 #110 two q=1.0 instances in parallel, then the q=0.5 one; a 6xx stops the sequence',
        undefined,
        async () => {
          const r = await registrar();
          const INSTANCE3 = '<urn:uuid:00000000-0000-1000-8000-999999999999>';
          const reg = async (instance: string, q: string, token: string, callId: string) => {
            const res = await doRegister(r, {
              contact: obContact(1, { instance, params: `;q=${q}` }),
              supported: SUP,
              path: edgePath(token),
              callId,
            });
            assert.equal(res.status, 200);
            await r.h.advance(1000);
          };
          await reg(INSTANCE, '1.0', 'tokA', 'c1');
          await reg(INSTANCE2, '1.0', 'tokB', 'c2');
          await reg(INSTANCE3, '0.5', 'tokC', 'c3');
          const first = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
          assert.deepEqual(first.map((s) => routeOf(s.msg)[0]).sort(), [
            edgePath('tokA'),
            edgePath('tokB'),
          ]);
          answer(r, first[0]?.msg as SipRequest, 486);
          answer(r, first[1]?.msg as SipRequest, 480);
          const sent = await r.h.take();
          const next = requests(sent, 'INVITE');
          assert.deepEqual(
            next.map((s) => routeOf(s.msg)[0]),
            [edgePath('tokC')],
          );
          assert.equal(finalTo(sent, CALLER).length, 0);
          answer(r, next[0]?.msg as SipRequest, 486);
          assert.deepEqual(
            finalTo(await r.h.take(), CALLER).map((m) => m.status),
            [486],
          );

          // a 6xx from the first class ends the search
          const again = requests(await call(r, 'sip:alice@example.com'), 'INVITE');
          assert.equal(again.length, 2);
          answer(r, again[0]?.msg as SipRequest, 603, 'Decline');
          const sent2 = await r.h.take();
          assert.equal(requests(sent2, 'INVITE').length, 0, 'no q=0.5 branch');
          if (kamailio) {
            // RFC 3261 §9.1: no CANCEL before a provisional. Kamailio keeps the unanswered branch
            // until it answers (then CANCELs it) or its fr_timer; flowgate ends it locally
            assert.deepEqual(finalTo(sent2, CALLER), []);
            answer(r, again[1]?.msg as SipRequest, 180, 'Ringing');
            const s3 = await r.h.take();
            const cancel = requests(s3, 'CANCEL');
            assert.equal(cancel.length, 1, 'the ringing branch is cancelled');
            answer(r, cancel[0]?.msg as SipRequest, 200, 'OK');
            answer(r, again[1]?.msg as SipRequest, 487, 'Request Terminated');
            const s4 = await r.h.take();
            assert.equal(requests([...s3, ...s4], 'INVITE').length, 0, 'no q=0.5 branch');
            assert.deepEqual(
              finalTo([...s3, ...s4], CALLER).map((m) => m.status),
              [603],
            );
          } else {
            // the other branch is cancelled (no provisional yet: ended locally)
            assert.deepEqual(
              finalTo(sent2, CALLER).map((m) => m.status),
              [603],
            );
          }
        },
      );

      it(
        '§6.8 #100 INVITE to the pub-gruu reaches exactly that instance; unknown instance → 404',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(TOKEN1),
            callId: 'a',
          });
          await doRegister(r, {
            contact: obContact(1, { instance: INSTANCE2, port: 5080 }),
            supported: SUP,
            path: edgePath(TOKEN2),
            callId: 'b',
          });
          const sent = await call(
            r,
            'sip:alice@example.com;gr=urn:uuid:00000000-0000-1000-8000-112233445566',
          );
          const inv = requests(sent, 'INVITE');
          if (kamailio) {
            // seed-exact (outbound.md §6.8 #100 [V]): one target, so 500 (Q-R7)
            assert.deepEqual(
              finalTo(sent, CALLER).map((m) => m.status),
              [500],
            );
          } else {
            assert.equal(inv.length, 1);
            assert.equal(inv[0]?.msg.uri, 'sip:alice@192.0.2.21:5080;ob');
            assert.deepEqual(routeOf(inv[0]?.msg as SipRequest), [edgePath(TOKEN2)]);
          }
          const miss = await call(
            r,
            'sip:alice@example.com;gr=urn:uuid:00000000-0000-0000-0000-000000000000',
          );
          assert.deepEqual(
            finalTo(miss, CALLER).map((m) => m.status),
            [404],
          );
        },
      );

      it(
        '§6.8 #101 INVITE to the temp-gruu reaches that binding; wrong hash or no "-" → 404',
        undefined,
        async () => {
          const r = await registrar();
          const res = await doRegister(r, {
            contact: obContact(1),
            supported: SUP,
            path: edgePath(),
          });
          const temp = /temp-gruu="([^"]+)"/.exec(res.getHeader('Contact') ?? '')?.[1];
          assert.ok(temp);
          const sent = await call(r, temp);
          const inv = requests(sent, 'INVITE');
          if (kamailio) {
            // seed-exact (outbound.md §6.8 #101 [V]): one target, so 500 (Q-R7)
            assert.deepEqual(
              finalTo(sent, CALLER).map((m) => m.status),
              [500],
            );
          } else {
            assert.equal(inv.length, 1);
            assert.equal(inv[0]?.msg.uri, 'sip:alice@192.0.2.21:5070;ob');
          }
          assert.match(temp, /-dd7f25d6[.@]/, 'the AoR hash of alice (§6.9 #126)');
          // wrong hash digit
          const bad = temp.replace(/-dd7f25d6(?=[.@])/, '-dd7f25d7');
          assert.deepEqual(
            finalTo(await call(r, bad), CALLER).map((m) => m.status),
            [404],
          );
          // user without '-' (lookup -3)
          assert.deepEqual(
            finalTo(await call(r, 'sip:nodash@example.com;gr'), CALLER).map((m) => m.status),
            [404],
          );
        },
      );

      it(
        '§6.7 #95 (decision Q-R6) To sip:Alice@example.com is not alice; the domain is ignored (use_domain 0); the seed on Kamailio lower-cases',
        undefined,
        async () => {
          const r = await registrar();
          await doRegister(r, {
            user: 'Alice',
            contact: obContact(1, { user: 'Alice' }),
            supported: SUP,
            path: edgePath(),
          });
          if (kamailio) {
            // seed-exact (outbound.md §6.7 #95): alice@other.org finds Alice's binding (a single
            // target: the seed answers 500, Q-R7, where an unknown user gets 404)
            assert.deepEqual(
              finalTo(await call(r, 'sip:alice@other.org'), CALLER).map((m) => m.status),
              [500],
            );
            return;
          }
          // §6.7 #95, flowgate form: the user part compares case-sensitively
          assert.deepEqual(
            finalTo(await call(r, 'sip:alice@other.org'), CALLER).map((m) => m.status),
            [404],
          );
          assert.equal(requests(await call(r, 'sip:Alice@other.org'), 'INVITE').length, 1);
        },
      );

      it('§6.7 #95 with case_sensitive 0 (Kamailio): Alice@example.com and alice@other.org share bindings', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({
          use_path: 1,
          gruu_enabled: 1,
          outbound_mode: 1,
          case_sensitive: 0,
        });
        await doRegister(r, {
          user: 'Alice',
          contact: obContact(1, { user: 'Alice' }),
          supported: SUP,
          path: edgePath(),
        });
        assert.equal(requests(await call(r, 'sip:alice@other.org'), 'INVITE').length, 1);
      });

      it('an expired binding is never used: INVITE after the expiry gets 404', {
        kamailio: 'needs 120 s of real time',
      }, async () => {
        const r = await registrar();
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          expires: 120,
        });
        await r.h.advance(119_000);
        assert.equal(requests(await call(r, 'sip:alice@example.com'), 'INVITE').length, 1);
        await r.h.advance(1_000);
        assert.deepEqual(
          finalTo(await call(r, 'sip:alice@example.com'), CALLER).map((m) => m.status),
          [404],
        );
      });

      it('REGISTER errors are answered exactly once (decision Q-R13): 439 then nothing from sl_reply_error', {
        kamailio: 'decision Q-R13: Kamailio 5.6 answers twice (439 then 500), asserted by §6.7 #80',
      }, async () => {
        const r = await registrar();
        // §6.7 #80 through the script: two Vias, no Path, outbound supported, reg-id
        const res = await doRegister(r, {
          contact: obContact(1),
          supported: 'outbound',
          viaEdge: true,
        });
        assert.equal(res.status, 439);
      });

      it(
        '§6.9 #117 switch fall-through in route[LOCATION]: lookup -1 (unknown user) and -3 (a GRUU user without "-") share `case -1: case -3:` → 404',
        undefined,
        async () => {
          const r = await registrar();
          for (const ruri of ['sip:nobody@example.com', 'sip:nodash@example.com;gr']) {
            const sent = await call(r, ruri);
            assert.deepEqual(
              finalTo(sent, CALLER).map((m) => `${m.status} ${m.reason}`),
              ['404 Not Found'],
              ruri,
            );
            assert.equal(requests(sent, 'INVITE').length, 0);
          }
        },
      );

      it('a location store outage during lookup is a 500 with the store reason, not 404', {
        cfg: "the built-in script's own branch (src/script/registrar.ts): the seed's route[LOCATION] answers every lookup -3 with 404",
        kamailio: WHY.state,
      }, async () => {
        const r = await registrar();
        await doRegister(r, { contact: obContact(1), supported: SUP, path: edgePath() });
        r.store.failing.add('get');
        const sent = await call(r, 'sip:alice@example.com');
        assert.deepEqual(
          finalTo(sent, CALLER).map((m) => `${m.status} ${m.reason}`),
          ['500 Location Store Unavailable'],
        );
        r.store.failing.clear();
        assert.equal(requests(await call(r, 'sip:alice@example.com'), 'INVITE').length, 1);
      });

      it('method_filtering 1: a binding that does not accept the method → 405', {
        kamailio: WHY.params,
      }, async () => {
        const r = await registrar({
          use_path: 1,
          gruu_enabled: 1,
          outbound_mode: 1,
          method_filtering: 1,
        });
        await doRegister(r, {
          contact: `${obContact(1)};methods="INVITE,BYE"`,
          supported: SUP,
          path: edgePath(),
        });
        assert.deepEqual(
          finalTo(await call(r, 'sip:alice@example.com', { method: 'MESSAGE' }), CALLER).map(
            (m) => `${m.status} ${m.reason}`,
          ),
          ['405 Method Not Allowed'],
        );
        assert.equal(requests(await call(r, 'sip:alice@example.com'), 'INVITE').length, 1);
      });

      it('instance attributes travel with the branch (ruid for unregister)', {
        kamailio: WHY.state,
      }, async () => {
        const r = await registrar();
        await doRegister(r, {
          contact: obContact(1),
          supported: SUP,
          path: edgePath(),
          userAgent: 'ua/1',
        });
        const [b] = await r.store.get('alice');
        assert.ok(b);
        assert.equal(b.instance, INSTANCE);
        assert.equal(b.userAgent, 'ua/1');
        assert.equal(b.socket, 'udp:127.0.0.1:5060');
        assert.equal(b.flowId, `w0/u0/${EDGE}`);
      });
    });
  });
}
