// The seed's two elements with real user agents (sipp, and a UA over real sockets), one suite in
// three forms (issue 11): flowgate's built-in scripts, the Kamailio test peer's edge.cfg and
// registrar.cfg run by `flowgate start -c`, and Kamailio running the same files. Everything on
// loopback, bounded in time; every process is stopped in after().
// Not a test file: the runner is seed-interop.test.ts.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FORM_TITLE, type Form } from '../support/seed-forms.js';
import { TestUa } from '../support/ua.js';
import { runSipp } from './peers.js';

/** Where the two elements of a form listen (UDP and TCP each). */
export interface SeedPair {
  readonly edge: { readonly ip: string; readonly port: number };
  readonly registrar: { readonly ip: string; readonly port: number };
  close(): Promise<void>;
}

/** Runs the interop suite against one form; `start` brings the pair up (in `before`). */
export function runSeedInteropSuite(
  form: Form,
  opts: {
    readonly skip: string | false;
    /** The loopback block of this form's peers (`127.65.<n>`). */
    readonly block: string;
    start(): Promise<SeedPair>;
  },
): void {
  describe(`the seed pair with real user agents — ${FORM_TITLE[form]}`, {
    skip: opts.skip,
    timeout: 180_000,
  }, () => {
    let pair: SeedPair;

    before(async () => {
      pair = await opts.start();
    });

    after(async () => {
      await pair?.close();
    });

    for (const [i, transport] of (['u1', 't1'] as const).entries())
      test(`sipp registers straight to the registrar over ${transport === 'u1' ? 'UDP' : 'TCP'}: 200 with Contact expires, pub-gruu, temp-gruu, +sip.instance, reg-id, Require and Supported: outbound (§6.7 #76 [V])`, async () => {
        const user = `direct${transport}`;
        const r = await runSipp('uac-register-outbound.xml', {
          target: `${pair.registrar.ip}:${pair.registrar.port}`,
          transport,
          localIp: `${opts.block}.${30 + i}`,
          keys: { user, instance: `00000000-0000-1000-8000-00000000000${i + 1}`, expires: 600 },
          timeoutMs: 15_000,
        });
        assert.equal(r.stats?.successful, 1, r.summary());
        assert.equal(r.stats?.failed, 0, r.summary());
        assert.ok(
          r.logs.some((l) => l.startsWith(`REG-200 user=${user} `)),
          'the 200 passed every check of the scenario',
        );
      });

    for (const [i, transport] of (['udp', 'tcp'] as const).entries())
      test(`${transport}: a UA registers two flows through the edge (Path with a flow token and ;ob, Require: outbound, Flow-Timer: 20); a sipp caller reaches it through the registrar over flow 1 with the edge's Record-Route`, async () => {
        const user = `ob${transport}`;
        const ua = await TestUa.connect(transport, pair.edge.ip, pair.edge.port, {
          user,
          localAddress: `${opts.block}.${40 + i}`,
        });
        try {
          let token: string | undefined;
          for (const regId of [1, 2]) {
            const ok = await ua.register({ regId });
            token ??= /<sip:([^@]+)@/.exec(ok.getHeader('Path') ?? '')?.[1];
            assert.equal(ok.status, 200, ok.toString());
            assert.equal(ok.getHeader('Require'), 'outbound');
            assert.equal(ok.getHeader('Flow-Timer'), '20');
            assert.match(
              ok.getHeader('Path') ?? '',
              new RegExp(
                `^<sip:[A-Za-z0-9+/]{31}=@${pair.edge.ip.replace(/\./g, '\\.')}:${pair.edge.port}(;transport=tcp)?;lr;ob>$`,
              ),
            );
          }
          // two flows: the seed registrar on Kamailio does not route a user with ONE contact (Q-R7)
          const r = await runSipp('uac-invite-bye.xml', {
            target: `${pair.registrar.ip}:${pair.registrar.port}`,
            service: user,
            localIp: `${opts.block}.${50 + i}`,
            timeoutMs: 15_000,
          });
          assert.equal(r.stats?.successful, 1, r.summary());
          const inv = await ua.nextRequest('INVITE');
          const rr = inv.getHeaders('Record-Route');
          assert.ok(
            rr.some((v) => token !== undefined && v.includes(`${token}@${pair.edge.ip}`)),
            `the edge's Record-Route carries the flow token: ${rr.join(' | ')}`,
          );
          await ua.nextRequest('BYE');
        } finally {
          ua.close();
        }
      });
  });
}
