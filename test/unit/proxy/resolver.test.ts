import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseSipUriStrict } from '../../../src/message/parse/uri.js';
import { type DnsApi, Resolver, rfc2782Order } from '../../../src/proxy/resolver.js';

type Zone = {
  naptr?: Record<
    string,
    {
      flags: string;
      service: string;
      regexp: string;
      replacement: string;
      order: number;
      preference: number;
    }[]
  >;
  srv?: Record<string, { priority: number; weight: number; port: number; name: string }[]>;
  a?: Record<string, string[]>;
  aaaa?: Record<string, string[]>;
};

/** An in-memory DNS (injected: tests never leave the machine). Counts queries. */
function dns(z: Zone): DnsApi & { queries: string[] } {
  const queries: string[] = [];
  const miss = (): Promise<never> =>
    Promise.reject(Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' }));
  const answer = <T>(q: string, v: T | undefined): Promise<T> => {
    queries.push(q);
    return v === undefined ? miss() : Promise.resolve(v);
  };
  return {
    queries,
    resolveNaptr: (h) => answer(`NAPTR ${h}`, z.naptr?.[h]),
    resolveSrv: (h) => answer(`SRV ${h}`, z.srv?.[h]),
    resolve4: (h) => answer(`A ${h}`, z.a?.[h]),
    resolve6: (h) => answer(`AAAA ${h}`, z.aaaa?.[h]),
  };
}

function uri(s: string) {
  const r = parseSipUriStrict(s);
  assert.ok(r.ok);
  return r.value;
}

describe('Resolver (RFC 3263)', () => {
  test('numeric hosts resolve without DNS, synchronously; transport from the parameter or the scheme', () => {
    const d = dns({});
    const r = new Resolver(d);
    assert.deepEqual(r.resolveNumeric(uri('sip:192.0.2.1')), {
      proto: 'udp',
      address: '192.0.2.1',
      port: 5060,
    });
    assert.deepEqual(r.resolveNumeric(uri('sip:192.0.2.1:5070;transport=tcp')), {
      proto: 'tcp',
      address: '192.0.2.1',
      port: 5070,
    });
    assert.deepEqual(r.resolveNumeric(uri('sips:[2001:db8::1]')), {
      proto: 'tls',
      address: '2001:db8::1',
      port: 5061,
    });
    assert.deepEqual(r.resolveNumeric(uri('sip:h.example.com;maddr=192.0.2.9')), {
      proto: 'udp',
      address: '192.0.2.9',
      port: 5060,
    });
    assert.equal(r.resolveNumeric(uri('sip:example.com')), undefined);
    assert.deepEqual(d.queries, []);
  });

  test('§4.1 NAPTR, then SRV in order, then A', async () => {
    const d = dns({
      naptr: {
        'example.com': [
          {
            flags: 'S',
            service: 'SIP+D2U',
            regexp: '',
            replacement: '_sip._udp.example.com',
            order: 20,
            preference: 0,
          },
          {
            flags: 'S',
            service: 'SIP+D2T',
            regexp: '',
            replacement: '_sip._tcp.example.com',
            order: 10,
            preference: 0,
          },
        ],
      },
      srv: {
        '_sip._tcp.example.com': [
          { priority: 20, weight: 0, port: 5080, name: 'b.example.com' },
          { priority: 10, weight: 0, port: 5070, name: 'a.example.com' },
        ],
      },
      a: { 'a.example.com': ['192.0.2.10'], 'b.example.com': ['192.0.2.11'] },
    });
    assert.deepEqual(await new Resolver(d).resolve(uri('sip:alice@example.com')), [
      { proto: 'tcp', address: '192.0.2.10', port: 5070 },
      { proto: 'tcp', address: '192.0.2.11', port: 5080 },
    ]);
  });

  test('no NAPTR: SRV for _sip._udp, _sip._tcp, _sips._tcp; no SRV: A/AAAA on the default port (§4.2)', async () => {
    const srvOnly = dns({
      srv: {
        '_sip._tcp.example.org': [{ priority: 0, weight: 0, port: 5099, name: 'sip.example.org' }],
      },
      a: { 'sip.example.org': ['192.0.2.20'] },
    });
    assert.deepEqual(await new Resolver(srvOnly).resolve(uri('sip:example.org')), [
      { proto: 'tcp', address: '192.0.2.20', port: 5099 },
    ]);
    const aOnly = dns({ aaaa: { 'v6.example.net': ['2001:db8::5'] } });
    assert.deepEqual(await new Resolver(aOnly).resolve(uri('sip:v6.example.net')), [
      { proto: 'udp', address: '2001:db8::5', port: 5060 },
    ]);
    assert.deepEqual(aOnly.queries, [
      'NAPTR v6.example.net',
      'SRV _sip._udp.v6.example.net',
      'SRV _sip._tcp.v6.example.net',
      'SRV _sips._tcp.v6.example.net',
      'A v6.example.net',
      'AAAA v6.example.net',
    ]);
  });

  test('an explicit port means A/AAAA only; a transport parameter means its SRV only; sips only SIPS NAPTRs', async () => {
    const d = dns({ a: { 'h.example.com': ['192.0.2.30'] } });
    assert.deepEqual(await new Resolver(d).resolve(uri('sip:h.example.com:5090;transport=tcp')), [
      { proto: 'tcp', address: '192.0.2.30', port: 5090 },
    ]);
    assert.deepEqual(d.queries, ['A h.example.com']);
    const t = dns({
      srv: {
        '_sip._tcp.t.example.com': [{ priority: 0, weight: 0, port: 6000, name: 't1.example.com' }],
      },
      a: { 't1.example.com': ['192.0.2.31'] },
    });
    assert.deepEqual(await new Resolver(t).resolve(uri('sip:t.example.com;transport=tcp')), [
      { proto: 'tcp', address: '192.0.2.31', port: 6000 },
    ]);
    assert.equal(t.queries[0], 'SRV _sip._tcp.t.example.com');
    const s = dns({
      naptr: {
        's.example.com': [
          {
            flags: 'S',
            service: 'SIP+D2U',
            regexp: '',
            replacement: '_sip._udp.s.example.com',
            order: 1,
            preference: 0,
          },
        ],
      },
      srv: {
        '_sips._tcp.s.example.com': [
          { priority: 0, weight: 0, port: 5061, name: 'tls.example.com' },
        ],
      },
      a: { 'tls.example.com': ['192.0.2.32'] },
    });
    assert.deepEqual(await new Resolver(s).resolve(uri('sips:s.example.com')), [
      { proto: 'tls', address: '192.0.2.32', port: 5061 },
    ]);
  });

  test('nothing resolves: rejected; results are cached', async () => {
    await assert.rejects(
      new Resolver(dns({})).resolve(uri('sip:nowhere.invalid')),
      /cannot resolve nowhere\.invalid/,
    );
    const d = dns({ a: { 'c.example.com': ['192.0.2.40'] } });
    const r = new Resolver(d);
    await r.resolve(uri('sip:c.example.com:5060'));
    await r.resolve(uri('sip:c.example.com:5060'));
    assert.equal(d.queries.length, 1);
  });
});

describe('names that are never looked up (issue 13 §1, RFC 6761)', () => {
  const asked: string[] = [];
  const spy: DnsApi = {
    resolveNaptr: async (h) => {
      asked.push(h);
      return [];
    },
    resolveSrv: async (h) => {
      asked.push(h);
      return [];
    },
    resolve4: async (h) => {
      asked.push(h);
      return [];
    },
    resolve6: async (h) => {
      asked.push(h);
      return [];
    },
  };
  const u = (s: string) => {
    const r = parseSipUriStrict(s);
    if (!r.ok) throw new Error(s);
    return r.value;
  };

  for (const name of [
    'sip:k3j2h1@df7jal23ls0d.invalid;transport=ws',
    'sip:a@printer.local',
    'sip:a@x.onion',
    'sip:a@intranet',
  ])
    test(`${name}: refused without a DNS query`, async () => {
      asked.length = 0;
      await assert.rejects(new Resolver(spy).resolve(u(name)), /no DNS query made/);
      assert.deepEqual(asked, []);
    });

  test('localhost is the loopback address, not a DNS question (RFC 6761 §6.3)', async () => {
    asked.length = 0;
    assert.deepEqual(await new Resolver(spy).resolve(u('sip:a@localhost:5070;transport=tcp')), [
      { proto: 'tcp', address: '127.0.0.1', port: 5070 },
    ]);
    assert.deepEqual(asked, []);
  });
});

describe('RFC 2782 order within a priority (issue 12 §2)', () => {
  const recs = [
    { priority: 10, weight: 60, name: 'a' },
    { priority: 10, weight: 0, name: 'z' },
    { priority: 10, weight: 40, name: 'b' },
    { priority: 5, weight: 0, name: 'first' },
  ];
  /** A fixed sequence of random numbers in [0, 1). */
  const seq = (...xs: number[]) => {
    let i = 0;
    return () => xs[i++ % xs.length] ?? 0;
  };

  test('lowest priority first; weight 0 first in line; the running sum picks the rest', () => {
    // priority 10: list z(0) a(60) b(40), sum 100. random 0 -> 0: z; then a(60) b(40): 0.5*101=50 -> a
    assert.deepEqual(
      rfc2782Order(recs, seq(0, 0, 0.5, 0)).map((r) => r.name),
      ['first', 'z', 'a', 'b'],
    );
    // 0.7*101=70 -> past z(0) and a(60): b; then z(0) a(60) with 0: z, then a
    assert.deepEqual(
      rfc2782Order(recs, seq(0, 0.7, 0)).map((r) => r.name),
      ['first', 'b', 'z', 'a'],
    );
  });

  test('weights share the first place in proportion (60/40 over many draws)', () => {
    let x = 12345;
    const lcg = () => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x / 2 ** 32;
    };
    const firsts = { a: 0, b: 0, z: 0 };
    for (let i = 0; i < 10_000; i++) {
      const name = rfc2782Order(recs.slice(0, 3), lcg)[0]?.name as 'a' | 'b' | 'z';
      firsts[name]++;
    }
    assert.ok(firsts.a > 5700 && firsts.a < 6300, `a first ${firsts.a} of 10000`);
    assert.ok(firsts.b > 3700 && firsts.b < 4300, `b first ${firsts.b} of 10000`);
    assert.ok(firsts.z < 100, `z (weight 0) first ${firsts.z} of 10000`);
  });

  test('resolve() draws the order anew each time from the cached records', async () => {
    const d = dns({
      srv: {
        '_sip._udp.w.example.com': [
          { priority: 1, weight: 1, port: 5060, name: 'x.example.com' },
          { priority: 1, weight: 1, port: 5060, name: 'y.example.com' },
        ],
      },
      a: { 'x.example.com': ['192.0.2.1'], 'y.example.com': ['192.0.2.2'] },
    });
    const r = new Resolver(d, 30_000, seq(0, 0, 0.9, 0));
    const u = uri('sip:w.example.com;transport=udp');
    assert.deepEqual(
      (await r.resolve(u)).map((h) => h.address),
      ['192.0.2.1', '192.0.2.2'],
    );
    assert.deepEqual(
      (await r.resolve(u)).map((h) => h.address),
      ['192.0.2.2', '192.0.2.1'],
    );
    assert.equal(d.queries.filter((q) => q.startsWith('SRV')).length, 1, 'records cached');
  });
});
