// The one conformance suite every CredentialStore backend runs (as location-store.case.ts does for
// bindings): a backend is done when this passes. The test file calls
// runCredentialStoreSuite(name, factory) once per backend.
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { InvalidArgumentError } from '../../src/errors/index.js';
import type { CredentialStore, Subscriber } from '../../src/modules/auth/credentials.js';
import { ha1Set } from '../../src/modules/auth/ha1.js';
import { CredentialStoreError } from '../../src/modules/auth/store/errors.js';

/** A store under test. */
export interface CredentialStoreFixture {
  /** A store that is not opened yet: the suite opens and closes it. */
  readonly store: CredentialStore;
  /** Whether `get()` answers without a promise (memory, SQLite) or with one (Redis). */
  readonly syncGet: boolean;
  /**
   * A new store instance over the same stored data (another process after a restart), not yet
   * opened; absent for a backend that keeps nothing (memory).
   */
  reopen?(opts: { readonly useDomain: boolean }): CredentialStore;
  /** Everything the backend has stored, as text (file bytes, every key and value); absent for memory. */
  raw?(): Promise<string>;
  /** Releases what the factory created besides the store. */
  dispose?(): Promise<void>;
}

/** Builds a fresh, empty store for one test. */
export type CredentialStoreFactory = (opts: {
  readonly useDomain: boolean;
}) => Promise<CredentialStoreFixture>;

const T0 = 1_700_000_000_000;

/** A subscriber with HA1 values computed from `password` (realm: the domain unless given). */
export function makeSubscriber(
  username: string,
  domain: string,
  password: string,
  over: Partial<Subscriber> = {},
): Subscriber {
  const realm = over.realm ?? domain.toLowerCase();
  return {
    username,
    domain,
    realm,
    ...ha1Set(username, domain.toLowerCase(), realm, password),
    created: T0,
    updated: T0,
    ...over,
  };
}

/** Resolves what `get()` returned, sync or not. */
async function got(
  v: Subscriber | undefined | Promise<Subscriber | undefined>,
): Promise<Subscriber | undefined> {
  return await v;
}

/** Every row, paging with `limit`. */
async function listAll(
  store: CredentialStore,
  opts: { domain?: string; limit: number },
): Promise<{ rows: Subscriber[]; pages: number }> {
  const rows: Subscriber[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await store.list({ ...opts, cursor });
    assert.ok(page.items.length <= opts.limit, 'a page holds at most limit rows');
    rows.push(...page.items);
    cursor = page.next;
    pages++;
    assert.ok(pages < 100, 'list() pages never end');
  } while (cursor !== undefined);
  return { rows, pages };
}

const names = (rows: readonly Subscriber[]): string[] =>
  rows.map((s) => `${s.username}@${s.domain}`);

/** Runs the CredentialStore conformance suite against one backend. */
export function runCredentialStoreSuite(name: string, factory: CredentialStoreFactory): void {
  describe(`CredentialStore conformance: ${name}`, () => {
    const open: CredentialStore[] = [];
    let fx: CredentialStoreFixture | undefined;

    async function setup(useDomain = true): Promise<CredentialStoreFixture> {
      const f = await factory({ useDomain });
      fx = f;
      open.push(f.store);
      await f.store.open();
      return f;
    }

    /** Opens another instance over the fixture's data (closed after the test). */
    async function reopen(f: CredentialStoreFixture, useDomain: boolean): Promise<CredentialStore> {
      assert.ok(f.reopen !== undefined);
      const s = f.reopen({ useDomain });
      open.push(s);
      await s.open();
      return s;
    }

    afterEach(async () => {
      for (const s of open.splice(0)) await s.close();
      const f = fx;
      fx = undefined;
      await f?.dispose?.();
    });

    describe('use_domain on (users are user@domain)', () => {
      test('an empty store: get finds nothing, list is one empty page', async () => {
        const { store } = await setup();
        assert.equal(await got(store.get('alice', 'example.com')), undefined);
        assert.deepEqual(await store.list(), { items: [], next: undefined });
      });

      test('put creates; get returns every field as stored; domains are lower-cased', async () => {
        const { store } = await setup();
        const alice = makeSubscriber('alice', 'Example.COM', 'correct horse', {
          realm: 'Example Realm',
          created: T0 + 1,
          updated: T0 + 2,
        });
        assert.equal(await store.put(alice), 'created');
        const want = { ...alice, domain: 'example.com' };
        assert.deepEqual(await got(store.get('alice', 'example.com')), want);
        assert.deepEqual(await got(store.get('alice', 'EXAMPLE.com')), want);
        assert.equal(await got(store.get('alice', 'example.org')), undefined);
        assert.deepEqual((await store.list()).items, [want]);
      });

      test('user names are case-sensitive: Alice and alice are two users', async () => {
        const { store } = await setup();
        await store.put(makeSubscriber('alice', 'example.com', 'password-one'));
        assert.equal(await got(store.get('Alice', 'example.com')), undefined);
        assert.equal(
          await store.put(makeSubscriber('Alice', 'example.com', 'password-two')),
          'created',
        );
        const lower = await got(store.get('alice', 'example.com'));
        const upper = await got(store.get('Alice', 'example.com'));
        assert.equal(lower?.ha1, ha1Set('alice', 'example.com', 'example.com', 'password-one').ha1);
        assert.equal(upper?.ha1, ha1Set('Alice', 'example.com', 'example.com', 'password-two').ha1);
        assert.equal(await store.remove('ALICE', 'example.com'), false);
        assert.equal((await store.list()).items.length, 2);
      });

      test('put of an existing user replaces realm, HA1s and updated but keeps created', async () => {
        const { store } = await setup();
        await store.put(makeSubscriber('bob', 'example.com', 'old password'));
        const changed = makeSubscriber('bob', 'EXAMPLE.com', 'new password', {
          realm: 'voip.example.com',
          created: T0 + 500,
          updated: T0 + 1000,
        });
        assert.equal(await store.put(changed), 'updated');
        assert.deepEqual(await got(store.get('bob', 'example.com')), {
          ...changed,
          domain: 'example.com',
          created: T0,
        });
        assert.equal((await store.list()).items.length, 1, 'still one row');
      });

      test('remove: true once, then false; other users and domains are untouched', async () => {
        const { store } = await setup();
        await store.put(makeSubscriber('carol', 'example.com', 'carol pass'));
        await store.put(makeSubscriber('carol', 'example.org', 'carol pass 2'));
        await store.put(makeSubscriber('dave', 'example.com', 'dave pass'));
        assert.equal(await store.remove('carol', 'Example.Com'), true);
        assert.equal(await store.remove('carol', 'example.com'), false);
        assert.equal(await store.remove('nobody', 'example.com'), false);
        assert.equal(await got(store.get('carol', 'example.com')), undefined);
        assert.equal((await got(store.get('carol', 'example.org')))?.domain, 'example.org');
        assert.deepEqual(names((await store.list()).items), [
          'dave@example.com',
          'carol@example.org',
        ]);
        // a removed user can be added again
        assert.equal(
          await store.put(makeSubscriber('carol', 'example.com', 'again!!!')),
          'created',
        );
      });

      test('list: (domain, user) in code point order, paged by cursor, filtered by domain', async () => {
        const { store } = await setup();
        const users = [
          'zoe@a.example',
          'Bob@a.example',
          'bob@a.example',
          '\u{1D11E}clef@a.example', // above U+FFFF: after U+E000 in code point order
          '\uE000pua@a.example',
          'amy@b.example',
          'x@a.example.net',
          'yan@c.example',
        ];
        for (const u of users) {
          const [user, domain] = u.split('@') as [string, string];
          await store.put(makeSubscriber(user, domain, `${user} password`));
        }
        const want = [
          'Bob@a.example',
          'bob@a.example',
          'zoe@a.example',
          '\uE000pua@a.example',
          '\u{1D11E}clef@a.example',
          'x@a.example.net',
          'amy@b.example',
          'yan@c.example',
        ];
        assert.deepEqual(names((await store.list()).items), want);
        for (const limit of [1, 2, 3, 7, 8, 1000]) {
          const { rows, pages } = await listAll(store, { limit });
          assert.deepEqual(names(rows), want, `limit ${limit}`);
          assert.equal(
            pages,
            Math.max(1, Math.ceil(want.length / limit)),
            `pages at limit ${limit}`,
          );
        }
        const first = await store.list({ limit: 3 });
        assert.equal(first.items.length, 3);
        assert.equal(typeof first.next, 'string');
        const { rows } = await listAll(store, { domain: 'A.Example', limit: 2 });
        assert.deepEqual(names(rows), want.slice(0, 5));
        assert.deepEqual(names((await store.list({ domain: 'c.example' })).items), [
          'yan@c.example',
        ]);
        assert.deepEqual(await store.list({ domain: 'none.example' }), {
          items: [],
          next: undefined,
        });
        // a cursor of the full listing used with a domain filter starts where it points
        const page = await store.list({ limit: 6 });
        const rest = await store.list({ domain: 'b.example', cursor: page.next });
        assert.deepEqual(names(rest.items), ['amy@b.example']);
      });

      test('list refuses a limit outside 1..1000 and a cursor it did not produce', async () => {
        const { store } = await setup();
        for (const limit of [0, -1, 1.5, 1001, Number.NaN])
          await assert.rejects(store.list({ limit }), InvalidArgumentError, `limit ${limit}`);
        await assert.rejects(store.list({ cursor: 'not-a-cursor' }), InvalidArgumentError);
        await assert.rejects(
          store.list({ cursor: Buffer.from('{"a":1}').toString('base64url') }),
          InvalidArgumentError,
        );
      });

      test('put refuses what is not a subscriber (a password as HA1, bad names) and stores nothing', async () => {
        const { store } = await setup();
        const good = makeSubscriber('erin', 'example.com', 'erin password');
        const bad: [string, Partial<Subscriber>][] = [
          ['plaintext as ha1', { ha1: 'erin password' }],
          ['upper-case hex', { ha1_sha256: good.ha1_sha256.toUpperCase() }],
          ['MD5 length in a SHA-256 column', { ha1b_sha256: good.ha1 }],
          ['empty user', { username: '' }],
          ['user with @', { username: 'erin@x' }],
          ['user with a space', { username: 'er in' }],
          ['user with a NUL', { username: 'er\0in' }],
          ['bad domain', { domain: 'exa mple.com' }],
          ['domain with a colon', { domain: 'example.com:5060' }],
          ['empty realm', { realm: '' }],
          ['realm with a quote', { realm: 'a"b' }],
          ['created not a time', { created: -1 }],
        ];
        for (const [what, over] of bad)
          await assert.rejects(store.put({ ...good, ...over }), InvalidArgumentError, what);
        assert.deepEqual((await store.list()).items, []);
        // IP literals are domains too
        for (const d of ['192.0.2.7', '[2001:db8::1]'])
          assert.equal(await store.put(makeSubscriber('erin', d, 'erin password')), 'created', d);
      });

      test('fields beyond the subscriber row (a password) are never stored', async () => {
        const f = await setup();
        const s = {
          ...makeSubscriber('frank', 'example.com', 'Frank-Secret-42'),
          password: 'Frank-Secret-42',
        };
        await f.store.put(s);
        const back = await got(f.store.get('frank', 'example.com'));
        assert.ok(back !== undefined);
        assert.equal('password' in back, false);
        if (f.raw !== undefined) assert.equal((await f.raw()).includes('Frank-Secret-42'), false);
      });

      test('get answers synchronously where the backend can (no promise on the hot path)', async () => {
        const { store, syncGet } = await setup();
        await store.put(makeSubscriber('gina', 'example.com', 'gina password'));
        const r = store.get('gina', 'example.com');
        assert.equal(r instanceof Promise, !syncGet);
        assert.equal((await r)?.username, 'gina');
        const miss = store.get('nobody', 'example.com');
        assert.equal(miss instanceof Promise, !syncGet);
        assert.equal(await miss, undefined);
      });

      test('a closed store refuses every call with CredentialStoreError', async () => {
        const { store } = await setup();
        await store.put(makeSubscriber('hal', 'example.com', 'hal password'));
        await store.close();
        const calls: [string, () => unknown][] = [
          ['get', () => store.get('hal', 'example.com')],
          ['put', () => store.put(makeSubscriber('ida', 'example.com', 'ida password'))],
          ['remove', () => store.remove('hal', 'example.com')],
          ['list', () => store.list()],
        ];
        for (const [what, call] of calls)
          await assert.rejects(async () => await call(), CredentialStoreError, what);
      });

      test('closing and reopening (a restart) keeps every user', async (t) => {
        const f = await setup();
        if (f.reopen === undefined) {
          t.skip('this backend keeps nothing across a restart');
          return;
        }
        const jo = makeSubscriber('jo', 'example.com', 'jo password', { created: T0 + 7 });
        await f.store.put(jo);
        await f.store.put(makeSubscriber('kim', 'example.net', 'kim password'));
        await f.store.remove('kim', 'example.net');
        await f.store.close();
        const again = await reopen(f, true);
        assert.deepEqual(await got(again.get('jo', 'example.com')), jo);
        assert.equal(await got(again.get('kim', 'example.net')), undefined);
        assert.deepEqual(names((await again.list()).items), ['jo@example.com']);
      });

      test('the stored data holds the HA1 values and no plaintext password', async (t) => {
        const f = await setup();
        if (f.raw === undefined) {
          t.skip('nothing stored outside the process');
          return;
        }
        const passwords = ['Sesame-Open-1234', 'hunter2hunter2'];
        const s1 = makeSubscriber('lea', 'example.com', passwords[0] as string);
        const s2 = makeSubscriber('max', 'example.org', passwords[1] as string, { realm: 'r' });
        await f.store.put(s1);
        await f.store.put(s2);
        await f.store.put(makeSubscriber('lea', 'example.com', passwords[0] as string));
        const raw = await f.raw();
        for (const s of [s1, s2])
          for (const h of [s.ha1, s.ha1b, s.ha1_sha256, s.ha1b_sha256])
            assert.ok(raw.includes(h), `the dump holds ${h} (it reads the stored data)`);
        for (const p of passwords) {
          assert.equal(raw.includes(p), false, `plaintext ${p} stored`);
          assert.equal(raw.includes(Buffer.from(p).toString('base64')), false);
          assert.equal(raw.includes(Buffer.from(p).toString('hex')), false);
        }
      });
    });

    describe('use_domain off (Kamailio auth_db default: the user name alone)', () => {
      test('get ignores the domain it is given', async () => {
        const { store } = await setup(false);
        const alice = makeSubscriber('alice', 'example.com', 'alice password');
        await store.put(alice);
        assert.deepEqual(await got(store.get('alice', 'other.example')), alice);
        assert.deepEqual(await got(store.get('alice', 'example.com')), alice);
        assert.equal(await got(store.get('Alice', 'example.com')), undefined);
      });

      test('one row per user name: put in another domain replaces it, keeping created', async () => {
        const { store } = await setup(false);
        await store.put(makeSubscriber('bob', 'example.com', 'bob password'));
        const moved = makeSubscriber('bob', 'example.org', 'bob password 2', {
          created: T0 + 99,
          updated: T0 + 100,
        });
        assert.equal(await store.put(moved), 'updated');
        assert.deepEqual(names((await store.list()).items), ['bob@example.org']);
        assert.deepEqual(await got(store.get('bob', 'example.com')), { ...moved, created: T0 });
      });

      test('remove takes the user out whatever domain is named', async () => {
        const { store } = await setup(false);
        await store.put(makeSubscriber('carol', 'example.com', 'carol password'));
        await store.put(makeSubscriber('dave', 'example.com', 'dave password'));
        assert.equal(await store.remove('carol', 'elsewhere.example'), true);
        assert.equal(await store.remove('carol', 'example.com'), false);
        assert.equal(await got(store.get('carol', 'example.com')), undefined);
        assert.deepEqual(names((await store.list()).items), ['dave@example.com']);
      });

      test('a user name stored in several domains (with use_domain on) matches nothing', async (t) => {
        const f = await setup(true);
        if (f.reopen === undefined) {
          t.skip('the memory backend cannot switch use_domain over the same data');
          return;
        }
        await f.store.put(makeSubscriber('eve', 'a.example', 'eve password a'));
        await f.store.put(makeSubscriber('eve', 'b.example', 'eve password b'));
        await f.store.put(makeSubscriber('fay', 'a.example', 'fay password'));
        await f.store.close();
        const off = await reopen(f, false);
        assert.equal(await got(off.get('eve', 'a.example')), undefined, 'fails closed');
        assert.equal((await got(off.get('fay', 'b.example')))?.domain, 'a.example');
        // writing the user again leaves one row
        assert.equal(
          await off.put(makeSubscriber('eve', 'b.example', 'eve password c')),
          'updated',
        );
        assert.deepEqual(names((await off.list({ domain: 'a.example' })).items), ['fay@a.example']);
        assert.equal((await got(off.get('eve', 'x.example')))?.domain, 'b.example');
      });
    });
  });
}
