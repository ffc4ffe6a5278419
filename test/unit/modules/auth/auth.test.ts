// The auth module (issue 10 §1): Kamailio's function names and return codes, RFC 7616 digest with
// MD5 and SHA-256, stateless nonces (expiry -> stale=true), nonce-count replay protection, the
// realm defaulting to the request's domain, and the per-user lockout with its one log line.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SipRequest, SipResponse } from '../../../../src/message/message.js';
import { type AuthParams, AuthRc } from '../../../../src/modules/auth/index.js';
import { MemoryCredentialStore, newSubscriber } from '../../../../src/modules/auth/store/index.js';
import { defineScript } from '../../../../src/script/api.js';
import type { ScriptContext } from '../../../../src/script/context.js';
import { digestAuthorization, parseChallenge } from '../../../support/digest.js';
import { firstLine, type Harness, harness, listener } from '../../../support/harness.js';
import { CapturingLogger } from '../../../support/logger.js';

const UA = '192.0.2.7:5060';
const PARAMS: AuthParams = {
  algorithms: ['SHA-256', 'MD5'],
  qop: 'auth',
  nonce_expire: 300,
  nonce_count: true,
  nc_array_size: 1024,
  user_failures: 3,
  user_failure_window: 60,
  user_lockout: 300,
  use_domain: true,
};

/** A script that authorizes and records the code, then answers 200 itself (or challenges). */
function probeScript(check: (ctx: ScriptContext) => Promise<boolean>) {
  return defineScript({
    async request_route(ctx) {
      const ok = await check(ctx);
      ctx.$var['rc'] = ctx.$rc;
      ctx.$var['au'] = ctx.$au;
      ctx.$var['ar'] = ctx.$ar;
      ctx.$var['ad'] = ctx.$ad;
      if (ok) {
        ctx.consume_credentials();
        ctx.sl_send_reply(200, 'OK');
      } else if (ctx.$rc === AuthRc.Error) ctx.sl_reply_error();
      else ctx.auth_challenge('', 0);
      ctx.exit();
    },
  });
}

async function setup(
  check: (ctx: ScriptContext) => Promise<boolean> = (ctx) => ctx.auth_check('', 'subscriber', 1),
  params: Partial<AuthParams> = {},
): Promise<{ h: Harness; logger: CapturingLogger; store: MemoryCredentialStore }> {
  const store = new MemoryCredentialStore();
  await store.open();
  await store.put(
    newSubscriber({ username: 'alice', domain: 'example.com' }, 'example.com', 'alice-pw-123', 0),
  );
  const logger = new CapturingLogger();
  const h = harness({
    listeners: [listener(0, 'udp', '127.0.0.1', 5060)],
    script: probeScript(check),
    auth: { params: { ...PARAMS, ...params }, store },
    logger,
  });
  return { h, logger, store };
}

function register(
  extra = '',
  o: { user?: string; cseq?: number; branch?: string; method?: string } = {},
): string {
  const user = o.user ?? 'alice';
  const m = o.method ?? 'REGISTER';
  return `${m} sip:example.com SIP/2.0
Via: SIP/2.0/UDP ${UA};branch=${o.branch ?? `z9hG4bK${Math.random().toString(36).slice(2)}`};rport
Max-Forwards: 70
From: <sip:${user}@example.com>;tag=f${o.cseq ?? 1}
To: <sip:${m === 'REGISTER' ? user : 'bob'}@example.com>
Call-ID: auth-1@ua
CSeq: ${o.cseq ?? 1} ${m}
Contact: <sip:${user}@192.0.2.7:5060>
${extra}Content-Length: 0

`;
}

async function send(h: Harness, raw: string): Promise<SipResponse> {
  h.inject(raw, UA);
  for (let i = 0; i < 20; i++) {
    const r = h.take().find((s) => !s.msg.isRequest && (s.msg as SipResponse).status >= 200);
    if (r !== undefined) return r.msg as SipResponse;
    await new Promise((res) => setImmediate(res));
  }
  throw new Error('no final response');
}

function answer(
  res: SipResponse,
  o: {
    password?: string;
    alg?: 'MD5' | 'SHA-256';
    nc?: number;
    method?: string;
    hdr?: string;
  } = {},
): string {
  const header = res.status === 401 ? 'WWW-Authenticate' : 'Proxy-Authenticate';
  const ch =
    res.getHeaders(header).find((c) => c.includes(`algorithm=${o.alg ?? 'SHA-256'}`)) ?? '';
  const a = digestAuthorization(
    ch,
    { method: o.method ?? 'REGISTER', uri: 'sip:example.com' },
    { username: 'alice', password: o.password ?? 'alice-pw-123' },
    { nc: o.nc ?? 1 },
  );
  return `${o.hdr ?? (res.status === 401 ? 'Authorization' : 'Proxy-Authorization')}: ${a}\n`;
}

describe('auth: challenges', () => {
  test('www (401): one WWW-Authenticate per algorithm, SHA-256 first, one nonce, realm = the To domain, qop=auth', async () => {
    const { h } = await setup();
    const r = await send(h, register());
    assert.equal(firstLine({ msg: r } as never), 'SIP/2.0 401 Unauthorized');
    const ch = r.getHeaders('WWW-Authenticate').map(parseChallenge);
    assert.deepEqual(
      ch.map((c) => c.get('algorithm')),
      ['SHA-256', 'MD5'],
    );
    assert.deepEqual([...new Set(ch.map((c) => c.get('nonce')))].length, 1);
    assert.equal(ch[0]?.get('realm'), 'example.com');
    assert.equal(ch[0]?.get('qop'), 'auth');
    assert.equal(ch[0]?.get('stale'), undefined);
  });

  test('proxy (407) for other methods, realm = the From domain; a fixed realm replaces it', async () => {
    const { h } = await setup();
    const r = await send(h, register('', { method: 'INVITE' }));
    assert.equal(r.status, 407);
    assert.equal(
      parseChallenge(r.getHeaders('Proxy-Authenticate')[0] ?? '').get('realm'),
      'example.com',
    );
    const fixed = await setup(undefined, { realm: 'voip', algorithms: ['MD5'] });
    const r2 = await send(fixed.h, register());
    assert.deepEqual(
      r2.getHeaders('WWW-Authenticate').map((c) => parseChallenge(c).get('realm')),
      ['voip'],
    );
  });
});

describe('auth: return codes (Kamailio auth_db)', () => {
  for (const alg of ['SHA-256', 'MD5'] as const) {
    test(`1 for good ${alg} credentials; $au, $ar, $ad set; consume_credentials removes them`, async () => {
      const { h } = await setup();
      const c = await send(h, register());
      const ok = await send(h, register(answer(c, { alg }), { cseq: 2 }));
      assert.equal(ok.status, 200);
      assert.equal(h.server.core.vars['rc'], AuthRc.Ok);
      assert.equal(h.server.core.vars['au'], 'alice');
      assert.equal(h.server.core.vars['ar'], 'example.com');
      assert.equal(h.server.core.vars['ad'], 'example.com');
    });
  }

  test('-5 without credentials, -2 wrong password, -3 unknown user: the same 401', async () => {
    const { h } = await setup();
    const c = await send(h, register());
    assert.equal(h.server.core.vars['rc'], AuthRc.NoCredentials);
    const wrong = await send(h, register(answer(c, { password: 'nope-nope' }), { cseq: 2 }));
    assert.equal(h.server.core.vars['rc'], AuthRc.InvalidPassword);
    const u = await send(h, register('', { user: 'mallory' }));
    const ch = u.getHeaders('WWW-Authenticate').find((x) => x.includes('SHA-256')) ?? '';
    const a = digestAuthorization(
      ch,
      { method: 'REGISTER', uri: 'sip:example.com' },
      { username: 'mallory', password: 'x-x-x-x-x' },
    );
    const unknown = await send(h, register(`Authorization: ${a}\n`, { user: 'mallory', cseq: 2 }));
    assert.equal(h.server.core.vars['rc'], AuthRc.UserUnknown);
    assert.equal(wrong.status, 401);
    assert.equal(unknown.status, 401);
    const strip = (r: SipResponse) =>
      r.getHeaders('WWW-Authenticate').map((x) => x.replace(/nonce="[^"]+"/, ''));
    assert.deepEqual(strip(wrong), strip(unknown));
  });

  test('-4 for an expired nonce, and the new challenge says stale=true (RFC 7616 §3.3)', async () => {
    const { h } = await setup();
    const c = await send(h, register());
    h.clock.advance(301_000);
    const r = await send(h, register(answer(c), { cseq: 2 }));
    assert.equal(h.server.core.vars['rc'], AuthRc.StaleNonce);
    assert.equal(parseChallenge(r.getHeaders('WWW-Authenticate')[0] ?? '').get('stale'), 'true');
  });

  test('-4 for a nonce that is not ours (tampered): re-challenged, never accepted', async () => {
    const { h } = await setup();
    const c = await send(h, register());
    const a = answer(c).replace(
      /nonce="([^"]+)"/,
      (_m, n: string) => `nonce="${n.slice(0, -2)}AA"`,
    );
    await send(h, register(a, { cseq: 2 }));
    assert.equal(h.server.core.vars['rc'], AuthRc.StaleNonce);
  });

  test('-6 when the nonce count does not increase (a replay); a higher nc is accepted', async () => {
    const { h } = await setup();
    const c = await send(h, register());
    const a1 = answer(c, { nc: 1 });
    assert.equal((await send(h, register(a1, { cseq: 2 }))).status, 200);
    await send(h, register(a1, { cseq: 3 }));
    assert.equal(h.server.core.vars['rc'], AuthRc.NonceReused);
    assert.equal((await send(h, register(answer(c, { nc: 2 }), { cseq: 4 }))).status, 200);
  });

  test('a retransmitted REGISTER (same branch, same nc) is not a replay', async () => {
    const { h } = await setup();
    const c = await send(h, register());
    const a = answer(c);
    assert.equal((await send(h, register(a, { cseq: 2, branch: 'z9hG4bKsame' }))).status, 200);
    assert.equal((await send(h, register(a, { cseq: 2, branch: 'z9hG4bKsame' }))).status, 200);
  });

  test('-8 from auth_check(…, 1) when the To user (REGISTER) or the From user is another', async () => {
    const { h } = await setup();
    const c = await send(h, register('', { user: 'bob' }));
    const r = await send(h, register(answer(c), { user: 'bob', cseq: 2 }));
    assert.equal(h.server.core.vars['rc'], AuthRc.UserMismatch);
    assert.equal(r.status, 401);
  });

  test('has_credentials(realm) sees credentials only for that realm', async () => {
    let seen: boolean[] = [];
    const { h } = await setup(async (ctx) => {
      seen = [ctx.has_credentials('example.com'), ctx.has_credentials('other.example')];
      return false;
    });
    const other = await setup();
    const c = await send(other.h, register());
    await send(h, register(answer(c), { cseq: 2 }));
    assert.deepEqual(seen, [true, false]);
  });
});

describe('auth: per-user lockout (issue 10 §5)', () => {
  test('more than user_failures failures lock the user out: 403 without a password check, one log line, a metric', async () => {
    const { h, logger } = await setup();
    const c = await send(h, register());
    for (let i = 0; i < 5; i++)
      await send(h, register(answer(c, { password: `wrong-${i}`, nc: i + 1 }), { cseq: i + 2 }));
    // now even the right password is refused
    const r = await send(h, register(answer(c, { nc: 10 }), { cseq: 20 }));
    assert.equal(r.status, 403);
    assert.equal(h.server.core.vars['rc'], AuthRc.Error);
    assert.equal(logger.matching(/locked out/).length, 1);
    assert.equal(h.server.core.stats.limits['auth_user'], 1);
    assert.equal(h.server.auth?.activeLockouts(), 1);
    h.clock.advance(301_000);
    const c2 = await send(h, register('', { cseq: 30 }));
    assert.equal((await send(h, register(answer(c2), { cseq: 31 }))).status, 200);
  });
});

// keep the import used for the request type in helpers
export type { SipRequest };
