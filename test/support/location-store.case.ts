// The one conformance suite every LocationStore backend runs (hono's runTest idea): a backend is
// done when this passes. Each backend's test file calls runLocationStoreSuite(name, factory).
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../../src/errors/index.js';
import type { AorChanges, Binding, LocationStore } from '../../src/modules/location/binding.js';
import { LocationStoreError } from '../../src/modules/location/errors.js';

/** A store under test plus control over the time it sees. */
export interface LocationStoreFixture {
  /** A store that is not opened yet: the suite opens and closes it. */
  readonly store: LocationStore;
  /** The wall-clock time the store reads (epoch ms). */
  now(): number;
  /** Lets `ms` pass for the store: advances its ManualClock, or sleeps when it runs on real time. */
  advance(ms: number): Promise<void>;
  /** Expiry the expiry tests use, ms from now: small for real-time backends. */
  readonly shortExpiryMs: number;
  /** Releases what the factory created besides the store (files, other clients). */
  dispose?(): Promise<void>;
}

/** Options the suite asks a factory for. */
export interface LocationStoreFactoryOptions {
  /** The store's purge interval. */
  readonly sweepIntervalMs: number;
}

/** Builds a fresh, empty store for one test. */
export type LocationStoreFactory = (
  options: LocationStoreFactoryOptions,
) => Promise<LocationStoreFixture>;

/** A purge interval longer than any test: only explicit purgeExpired() calls purge. */
const NO_SWEEP_MS = 3_600_000;

/** A complete binding with test defaults: expires in an hour, no q, seq 1. */
export function makeBinding(
  now: number,
  aor: string,
  ruid: string,
  over: Partial<Binding> = {},
): Binding {
  return {
    ruid,
    aor,
    contact: `sip:${ruid}@192.0.2.1:5060;transport=tcp`,
    received: undefined,
    path: [],
    expires: now + 3_600_000,
    q: undefined,
    callId: `cid-${ruid}`,
    cseq: 1,
    userAgent: undefined,
    instance: undefined,
    regId: 0,
    flowId: undefined,
    socket: undefined,
    methods: undefined,
    flags: 0,
    lastModified: now,
    seq: 1,
    tempGruus: [],
    ...over,
  };
}

function upsert(...bindings: Binding[]): AorChanges {
  return { upsert: bindings, remove: [] };
}

function ruids(bs: readonly Binding[]): string[] {
  return bs.map((b) => b.ruid);
}

/** Polls `check` until it returns true or `timeoutMs` passes (then fails with `what`). */
async function eventually(
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await sleep(50);
  }
}

/** Runs the LocationStore conformance suite against one backend. */
export function runLocationStoreSuite(name: string, factory: LocationStoreFactory): void {
  describe(`LocationStore conformance: ${name}`, () => {
    let fx: LocationStoreFixture | undefined;

    async function setup(sweepIntervalMs = NO_SWEEP_MS): Promise<LocationStoreFixture> {
      const f = await factory({ sweepIntervalMs });
      fx = f;
      await f.store.open();
      return f;
    }

    afterEach(async () => {
      const f = fx;
      fx = undefined;
      if (f === undefined) return;
      await f.store.close();
      await f.dispose?.();
    });

    test('get on an unknown AoR returns []', async () => {
      const { store } = await setup();
      assert.deepEqual(await store.get('nobody'), []);
      assert.equal(await store.getByRuid('no-such-ruid'), undefined);
      assert.equal(await store.count(), 0);
    });

    test('apply inserts bindings and get returns every field as stored', async () => {
      const { store, now } = await setup();
      const t = now();
      const full = makeBinding(t, 'alice', 'uloc-1', {
        contact: 'sip:alice@192.0.2.10:49210;transport=tcp;ob',
        received: 'sip:198.51.100.7:5060',
        path: ['<sip:edge1.example.net;lr;ob>', '<sip:edge2.example.net;lr>'],
        q: 700,
        callId: 'a84b4c76e66710@pc33.example.com',
        cseq: 314159,
        userAgent: 'Flöwgate-test/1.0 ☎ 𝄞',
        instance: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>',
        regId: 2,
        flowId: 'w0/c-192.0.2.10:49210',
        socket: 'tcp:127.0.0.1:5060',
        methods: ['INVITE', 'ACK', 'BYE'],
        flags: 0x41,
        seq: 42,
        tempGruus: ['tgruu.7hs==jd7vnzga5w7fajsc7-ajd6fabz0f8g5', 'tgruu.2'],
      });
      const bare = makeBinding(t, 'alice', 'uloc-2', { seq: 43 });
      await store.apply('alice', upsert(full, bare));
      assert.deepEqual(await store.get('alice'), [full, bare]);
      assert.deepEqual(await store.getByRuid('uloc-1'), full);
      assert.deepEqual(await store.getByRuid('uloc-2'), bare);
      assert.deepEqual(await store.get('bob'), []);
    });

    test('get orders by q descending (no q lowest, below 0), then seq ascending', async () => {
      const { store, now } = await setup();
      const t = now();
      const b = (ruid: string, q: number | undefined, seq: number): Binding =>
        makeBinding(t, 'carol', ruid, { q, seq });
      await store.apply(
        'carol',
        upsert(b('none-old', undefined, 1), b('q0', 0, 2), b('q500-new', 500, 9)),
      );
      await store.apply(
        'carol',
        upsert(b('q1000', 1000, 10), b('q500-old', 500, 3), b('none-new', undefined, 0)),
      );
      assert.deepEqual(ruids(await store.get('carol')), [
        'q1000',
        'q500-old',
        'q500-new',
        'q0',
        'none-new',
        'none-old',
      ]);
    });

    test('upsert with an existing ruid replaces the binding in place of the old one', async () => {
      const { store, now } = await setup();
      const t = now();
      await store.apply(
        'dave',
        upsert(
          makeBinding(t, 'dave', 'r1', { q: 100, seq: 1 }),
          makeBinding(t, 'dave', 'r2', { q: 500, seq: 2 }),
        ),
      );
      assert.deepEqual(ruids(await store.get('dave')), ['r2', 'r1']);
      const refreshed = makeBinding(t, 'dave', 'r1', {
        q: 900,
        seq: 1,
        cseq: 2,
        contact: 'sip:dave@203.0.113.5:5062',
        expires: t + 7_200_000,
      });
      await store.apply('dave', upsert(refreshed));
      const got = await store.get('dave');
      assert.deepEqual(ruids(got), ['r1', 'r2']);
      assert.deepEqual(got[0], refreshed);
      assert.equal(await store.count(), 2);
    });

    test('remove deletes by ruid; unknown ruids and ruids of other AoRs are left alone', async () => {
      const { store, now } = await setup();
      const t = now();
      await store.apply(
        'erin',
        upsert(makeBinding(t, 'erin', 'e1'), makeBinding(t, 'erin', 'e2', { seq: 2 })),
      );
      await store.apply('frank', upsert(makeBinding(t, 'frank', 'f1')));
      await store.apply('erin', { upsert: [], remove: ['e1', 'missing', 'f1'] });
      assert.deepEqual(ruids(await store.get('erin')), ['e2']);
      assert.equal(await store.getByRuid('e1'), undefined);
      assert.deepEqual(ruids(await store.get('frank')), ['f1']);
      await store.apply('erin', { upsert: [], remove: ['e2'] });
      assert.deepEqual(await store.get('erin'), []);
      assert.equal(await store.count(), 1);
    });

    test('one apply can remove some bindings and upsert others', async () => {
      const { store, now } = await setup();
      const t = now();
      await store.apply(
        'gina',
        upsert(makeBinding(t, 'gina', 'g1'), makeBinding(t, 'gina', 'g2', { seq: 2 })),
      );
      await store.apply('gina', {
        upsert: [makeBinding(t, 'gina', 'g3', { seq: 3 })],
        remove: ['g1'],
      });
      assert.deepEqual(ruids(await store.get('gina')), ['g2', 'g3']);
    });

    test('removeAor removes every binding of the AoR and returns how many', async () => {
      const { store, now } = await setup();
      const t = now();
      await store.apply(
        'hank',
        upsert(
          makeBinding(t, 'hank', 'h1'),
          makeBinding(t, 'hank', 'h2'),
          makeBinding(t, 'hank', 'h3'),
        ),
      );
      await store.apply('ivy', upsert(makeBinding(t, 'ivy', 'i1')));
      assert.equal(await store.removeAor('hank'), 3);
      assert.deepEqual(await store.get('hank'), []);
      assert.equal(await store.getByRuid('h2'), undefined);
      assert.deepEqual(ruids(await store.get('ivy')), ['i1']);
      assert.equal(await store.removeAor('hank'), 0);
      assert.equal(await store.removeAor('never-registered'), 0);
      assert.equal(await store.count(), 1);
      const page = await store.list(undefined, 10);
      assert.deepEqual(ruids(page.bindings), ['i1']);
    });

    test('getByRuid finds a binding whatever its AoR', async () => {
      const { store, now } = await setup();
      const t = now();
      const j = makeBinding(t, 'jack', 'uloc-6b07a0b3-492e-8');
      const k = makeBinding(t, 'kate', 'uloc-6b07a0b3-492e-a');
      await store.apply('jack', upsert(j));
      await store.apply('kate', upsert(k));
      assert.deepEqual(await store.getByRuid('uloc-6b07a0b3-492e-8'), j);
      assert.deepEqual(await store.getByRuid('uloc-6b07a0b3-492e-a'), k);
      assert.equal(await store.getByRuid('uloc-6b07a0b3-492e-9'), undefined);
    });

    test('list pages through every binding by AoR then seq, with any small limit', async () => {
      const { store, now } = await setup();
      const t = now();
      const layout: Record<string, number[]> = {
        'u-c': [5, 1, 3],
        'u-a': [2],
        'u-b': [7, 4],
        'u-e': [1, 2, 3, 4],
        'u-d': [9],
      };
      const expected: string[] = [];
      for (const aor of Object.keys(layout).sort()) {
        for (const seq of [...(layout[aor] ?? [])].sort((x, y) => x - y))
          expected.push(`${aor}-${seq}`);
      }
      for (const [aor, seqs] of Object.entries(layout)) {
        // q must not matter for the listing order
        await store.apply(
          aor,
          upsert(...seqs.map((seq) => makeBinding(t, aor, `${aor}-${seq}`, { seq, q: seq * 100 }))),
        );
      }
      for (const limit of [1, 2, 3, 5, expected.length, expected.length + 1]) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page = await store.list(cursor, limit);
          assert.ok(page.bindings.length <= limit, `page larger than limit ${limit}`);
          seen.push(...ruids(page.bindings));
          cursor = page.next;
          if (cursor !== undefined)
            assert.equal(page.bindings.length, limit, 'only the last page may be short');
          assert.ok(++pages <= expected.length + 1, 'list does not terminate');
        } while (cursor !== undefined);
        assert.deepEqual(seen, expected, `limit ${limit}`);
      }
      // The same cursor gives the same page (stable).
      const first = await store.list(undefined, 4);
      assert.deepEqual(await store.list(first.next, 4), await store.list(first.next, 4));
    });

    test('list stays consistent when bindings change between pages', async () => {
      const { store, now } = await setup();
      const t = now();
      for (const aor of ['m1', 'm2', 'm3', 'm4']) {
        await store.apply(
          aor,
          upsert(
            makeBinding(t, aor, `${aor}-a`, { seq: 10 }),
            makeBinding(t, aor, `${aor}-b`, { seq: 20 }),
          ),
        );
      }
      const p1 = await store.list(undefined, 3); // m1-a m1-b m2-a
      assert.deepEqual(ruids(p1.bindings), ['m1-a', 'm1-b', 'm2-a']);
      await store.apply('m1', upsert(makeBinding(t, 'm1', 'm1-c', { seq: 30 }))); // behind the cursor
      await store.apply('m2', upsert(makeBinding(t, 'm2', 'm2-c', { seq: 30 }))); // ahead of it
      await store.apply('m3', { upsert: [], remove: ['m3-a'] }); // not yet seen
      const rest: string[] = [];
      let cursor = p1.next;
      while (cursor !== undefined) {
        const page = await store.list(cursor, 3);
        rest.push(...ruids(page.bindings));
        cursor = page.next;
      }
      assert.deepEqual(rest, ['m2-b', 'm2-c', 'm3-b', 'm4-a', 'm4-b']);
    });

    test('list on an empty store is one empty last page; bad cursors and limits are refused', async () => {
      const { store } = await setup();
      assert.deepEqual(await store.list(undefined, 10), { bindings: [], next: undefined });
      await assert.rejects(store.list('not-a-cursor', 10), InvalidArgumentError);
      await assert.rejects(store.list(undefined, 0), InvalidArgumentError);
      await assert.rejects(store.list(undefined, 1.5), InvalidArgumentError);
    });

    test('count counts the unexpired bindings of all AoRs', async () => {
      const { store, now } = await setup();
      const t = now();
      for (let i = 0; i < 5; i++) {
        await store.apply(
          `n${i}`,
          upsert(
            ...Array.from({ length: i + 1 }, (_, j) =>
              makeBinding(t, `n${i}`, `n${i}-${j}`, { seq: j }),
            ),
          ),
        );
      }
      assert.equal(await store.count(), 15);
      await store.removeAor('n4');
      assert.equal(await store.count(), 10);
    });

    test('an expired binding is not returned by any read, and purgeExpired removes it', async () => {
      const f = await setup();
      const { store } = f;
      const t = f.now();
      const short = makeBinding(t, 'olga', 'short', { expires: t + f.shortExpiryMs, q: 1000 });
      const long = makeBinding(t, 'olga', 'long');
      const other = makeBinding(t, 'pete', 'other', { expires: t + f.shortExpiryMs });
      await store.apply('olga', upsert(short, long));
      await store.apply('pete', upsert(other));
      assert.deepEqual(ruids(await store.get('olga')), ['short', 'long']);
      assert.equal(await store.count(), 3);
      await f.advance(f.shortExpiryMs);
      await eventually(
        'short bindings expire',
        3000,
        async () => (await store.get('olga')).length === 1,
      );
      assert.deepEqual(ruids(await store.get('olga')), ['long']);
      assert.deepEqual(await store.get('pete'), []);
      assert.equal(await store.getByRuid('short'), undefined);
      assert.equal(await store.count(), 1);
      assert.deepEqual(ruids((await store.list(undefined, 10)).bindings), ['long']);
      assert.equal(await store.purgeExpired(), 2);
      assert.equal(await store.purgeExpired(), 0);
      assert.deepEqual(ruids(await store.get('olga')), ['long']);
      assert.equal(await store.removeAor('pete'), 0);
    });

    test('a binding refreshed before it expires lives on', async () => {
      const f = await setup();
      const { store } = f;
      const t = f.now();
      await store.apply(
        'quin',
        upsert(makeBinding(t, 'quin', 'q1', { expires: t + f.shortExpiryMs })),
      );
      await store.apply(
        'quin',
        upsert(makeBinding(t, 'quin', 'q1', { expires: t + 3_600_000, cseq: 2 })),
      );
      await f.advance(f.shortExpiryMs);
      assert.equal((await store.get('quin'))[0]?.cseq, 2);
      assert.equal(await store.purgeExpired(), 0);
      assert.equal(await store.count(), 1);
    });

    test('the purge timer deletes expired bindings on its own', async () => {
      const sweepMs = 400;
      const f = await setup(sweepMs);
      const { store } = f;
      const t = f.now();
      await store.apply(
        'rita',
        upsert(
          makeBinding(t, 'rita', 'r-short', { expires: t + f.shortExpiryMs }),
          makeBinding(t, 'rita', 'r-long'),
        ),
      );
      // Two purge intervals after the expiry: the timer has run since, so nothing is left to purge.
      await f.advance(f.shortExpiryMs + 2 * sweepMs);
      assert.equal(
        await store.purgeExpired(),
        0,
        'the purge timer should have removed the expired binding',
      );
      assert.deepEqual(ruids(await store.get('rita')), ['r-long']);
    });

    test('an upsert whose expires has already passed removes the binding', async () => {
      const { store, now } = await setup();
      const t = now();
      await store.apply('sam', upsert(makeBinding(t, 'sam', 's1'), makeBinding(t, 'sam', 's2')));
      await store.apply(
        'sam',
        upsert(
          makeBinding(t, 'sam', 's1', { expires: t - 1 }),
          makeBinding(t, 'sam', 's3', { expires: t - 1 }),
        ),
      );
      assert.deepEqual(ruids(await store.get('sam')), ['s2']);
      assert.equal(await store.getByRuid('s1'), undefined);
      assert.equal(await store.count(), 1);
    });

    test('apply is all or nothing: an invalid binding in the change writes nothing', async () => {
      const { store, now } = await setup();
      const t = now();
      const kept = makeBinding(t, 'tina', 'kept');
      await store.apply('tina', upsert(kept));
      const valid = makeBinding(t, 'tina', 'new', { seq: 2 });
      const invalid: Array<[string, unknown]> = [
        ['q above 1000', makeBinding(t, 'tina', 'bad', { q: 1001 })],
        ['another AoR', makeBinding(t, 'ursula', 'bad')],
        ['empty contact', makeBinding(t, 'tina', 'bad', { contact: '' })],
        ['no callId', { ...makeBinding(t, 'tina', 'bad'), callId: undefined }],
        ['expires not an integer', makeBinding(t, 'tina', 'bad', { expires: Number.NaN })],
        ['ruid with a space', makeBinding(t, 'tina', 'bad ruid')],
        ['empty ruid', makeBinding(t, 'tina', '')],
        ['path not an array', { ...makeBinding(t, 'tina', 'bad'), path: 'sip:edge' }],
        ['duplicate ruid', makeBinding(t, 'tina', 'new')],
      ];
      for (const [why, bad] of invalid) {
        await assert.rejects(
          store.apply('tina', { upsert: [valid, bad as Binding], remove: ['kept'] }),
          InvalidArgumentError,
          why,
        );
        assert.deepEqual(await store.get('tina'), [kept], why);
      }
      await assert.rejects(
        store.apply('tina', { upsert: [valid], remove: ['new'] }),
        InvalidArgumentError,
      );
      await assert.rejects(store.apply('', upsert()), InvalidArgumentError);
      assert.deepEqual(await store.get('tina'), [kept]);
      assert.equal(await store.count(), 1);
    });

    test('apply is all or nothing: a ruid still live under another AoR is refused', async () => {
      const { store, now } = await setup();
      const t = now();
      await store.apply('vera', upsert(makeBinding(t, 'vera', 'taken')));
      await store.apply('walt', upsert(makeBinding(t, 'walt', 'w1')));
      await assert.rejects(
        store.apply('walt', {
          upsert: [makeBinding(t, 'walt', 'w2'), makeBinding(t, 'walt', 'taken')],
          remove: ['w1'],
        }),
        InvalidArgumentError,
      );
      assert.deepEqual(ruids(await store.get('walt')), ['w1']);
      assert.equal((await store.getByRuid('taken'))?.aor, 'vera');
      assert.equal(await store.count(), 2);
    });

    test('a ruid whose binding expired under another AoR can be used again', async () => {
      const f = await setup();
      const { store } = f;
      const t = f.now();
      await store.apply(
        'xena',
        upsert(makeBinding(t, 'xena', 'reused', { expires: t + f.shortExpiryMs })),
      );
      await f.advance(f.shortExpiryMs);
      await eventually(
        'the binding expires',
        3000,
        async () => (await store.getByRuid('reused')) === undefined,
      );
      const t2 = f.now();
      await store.apply('yuri', upsert(makeBinding(t2, 'yuri', 'reused')));
      assert.equal((await store.getByRuid('reused'))?.aor, 'yuri');
      assert.deepEqual(await store.get('xena'), []);
      await store.purgeExpired();
      assert.deepEqual(ruids(await store.get('yuri')), ['reused']);
      assert.equal(await store.count(), 1);
    });

    test('concurrent apply calls on different AoRs all land', async () => {
      const { store, now } = await setup();
      const t = now();
      const n = 40;
      await Promise.all(
        Array.from({ length: n }, (_, i) =>
          store.apply(
            `par${i}`,
            upsert(
              makeBinding(t, `par${i}`, `par${i}-1`, { seq: 1 }),
              makeBinding(t, `par${i}`, `par${i}-2`, { seq: 2 }),
            ),
          ),
        ),
      );
      assert.equal(await store.count(), 2 * n);
      const all = await Promise.all(Array.from({ length: n }, (_, i) => store.get(`par${i}`)));
      for (const [i, bs] of all.entries()) assert.deepEqual(ruids(bs), [`par${i}-1`, `par${i}-2`]);
    });

    test('concurrent apply calls on one AoR keep every binding', async () => {
      const { store, now } = await setup();
      const t = now();
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          store.apply(
            'zed',
            upsert(makeBinding(t, 'zed', `z${String(i).padStart(2, '0')}`, { seq: i })),
          ),
        ),
      );
      assert.deepEqual(
        ruids(await store.get('zed')),
        Array.from({ length: 20 }, (_, i) => `z${String(i).padStart(2, '0')}`),
      );
    });

    test('AoRs are exact strings: case, unicode and separators are kept apart', async () => {
      const { store, now } = await setup();
      const t = now();
      const aors = ['Alice', 'alice', 'alice@example.com', 'al:ice', 'ålice', '𝒜lice', 'a'];
      for (const [i, aor] of aors.entries())
        await store.apply(aor, upsert(makeBinding(t, aor, `x${i}`)));
      for (const [i, aor] of aors.entries())
        assert.deepEqual(ruids(await store.get(aor)), [`x${i}`], aor);
      // Listing order is by code point (UTF-8 byte order) of the AoR.
      const listed = (await store.list(undefined, 100)).bindings.map((b) => b.aor);
      assert.deepEqual(
        listed,
        [...aors].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y))),
      );
    });

    test('a closed store rejects every call with LocationStoreError; close twice is fine', async () => {
      const { store } = await setup();
      await store.close();
      await store.close();
      for (const call of [
        () => store.get('a'),
        () => store.getByRuid('a'),
        () => store.apply('a', upsert()),
        () => store.removeAor('a'),
        () => store.list(undefined, 1),
        () => store.count(),
        () => store.purgeExpired(),
      ]) {
        await assert.rejects(
          call(),
          (err: unknown) =>
            err instanceof LocationStoreError && err.code === 'REG_ERR_STORE' && err.status === 500,
        );
      }
    });
  });
}
