// Property tests of the message layer (fast-check, fixed seed, bounded runs):
// - scanning, validating and reading every getter never throws, whatever the bytes;
// - serialize∘scan gives back generated valid messages byte for byte without edits, and the
//   same headers and values after random edits.
// FUZZ_RUNS multiplies the number of runs for a longer run by hand (`FUZZ_RUNS=100` is 1.6
// million inputs); `npm run fuzz:long` runs it with a random seed, FUZZ_SCALE × the CI counts and
// a time budget (FUZZ_SEED, FUZZ_SCALE, FUZZ_TIME_MS: see fuzz-parameters.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { buildResponseBytes } from '../../src/message/build.js';
import { EditList, serialize } from '../../src/message/edits.js';
import { type SipMessage, SipRequest } from '../../src/message/message.js';
import {
  contactExpires,
  contactInstance,
  contactQ,
  contactRegId,
} from '../../src/message/parse/contact.js';
import { scanMessage } from '../../src/message/scanner.js';
import { validateMessage } from '../../src/message/validate.js';
import { fuzzParameters } from './fuzz-parameters.js';

const SEED = 5626;
const { FUZZ_RUNS } = process.env;
const SCALE = Number(FUZZ_RUNS ?? 1);
const runs = (n: number): number => Math.max(1, Math.round(n * SCALE));

// ---- reading everything a layer above might read

function touchAll(m: SipMessage): number {
  let x = 0;
  const add = (v: unknown): void => {
    if (typeof v === 'string') x += v.length;
    else if (typeof v === 'number' && !Number.isNaN(v)) x += 1;
    else if (v !== undefined && v !== null) x += 1;
  };
  add(m.topVia?.branch);
  add(m.topVia?.host);
  add(m.topVia?.rport);
  add(m.topVia?.received);
  add(m.topVia?.raw);
  add(m.topVia?.params.size);
  for (const v of m.vias ?? []) {
    add(v.sentBy);
    add(v.maddr);
    add(v.ttl);
    add(v.withReceived('192.0.2.1', 5060));
  }
  add(m.viaCount);
  for (const na of [m.from, m.to]) {
    add(na?.displayText);
    add(na?.uri.toString());
    add(na?.params.toString());
  }
  add(m.fromTag);
  add(m.toTag);
  add(m.callId);
  add(m.cseq?.method);
  add(m.cseqMethod);
  add(m.maxForwards);
  add(m.contentLength);
  add(m.expires);
  add(m.flowTimer);
  const c = m.contacts;
  for (const na of c?.contacts ?? []) {
    add(na.uri.toString());
    add(na.uriValid);
    add(na.param('expires'));
    add(contactExpires(na));
    add(contactQ(na));
    add(contactRegId(na));
    add(contactInstance(na));
  }
  for (const list of [m.routes, m.recordRoutes, m.paths])
    for (const na of list ?? []) add(na.uri.toString());
  add(m.optionTags('Supported').length);
  add(m.hasOptionTag('Require', 'outbound'));
  for (let k = 0; k < m.headerCount; k++) {
    add(m.headerNameAt(k));
    add(m.headerValueAt(k));
    add(m.getValues(m.headerNameAt(k)).length);
  }
  add(m.body.length);
  add(m.bytes.length);
  add(m.toString());
  if (m instanceof SipRequest) {
    add(m.ruri?.toString());
    add(m.method);
    if (m.method !== 'ACK') add(buildResponseBytes(m, 400).length);
  }
  add(serialize(m).length);
  add(validateMessage(m)?.status);
  return x;
}

// ---- generators of valid messages

const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
const chars = (set: string, min: number, max: number): fc.Arbitrary<string> =>
  fc.string({ unit: fc.constantFrom(...set), minLength: min, maxLength: max });
const token = chars(`${ALNUM}-.!%*_+\`'~`, 1, 10);
const label = fc
  .tuple(chars(ALNUM, 1, 1), chars(`${ALNUM}-`, 0, 6), chars(ALNUM, 1, 1))
  .map(([a, b, c]) => a + b + c);
const hostname = fc
  .array(label, { minLength: 1, maxLength: 3 })
  .map((ls) => `${ls.join('.')}.example`);
const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
const ipv6 = fc
  .array(fc.nat(0xffff), { minLength: 8, maxLength: 8 })
  .map((g) => `[${g.map((x) => x.toString(16)).join(':')}]`);
const host = fc.oneof(hostname, ipv4, ipv6);
const port = fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined });
const user = chars(`${ALNUM}-_.!~*'()&=+$,;?/`, 1, 10);
const uriParam = fc.oneof(
  fc.constant(';lr'),
  fc.constant(';ob'),
  fc.constantFrom('udp', 'tcp', 'tls', 'ws').map((t) => `;transport=${t}`),
  fc.tuple(chars(ALNUM, 1, 6), chars(`${ALNUM}-_.`, 1, 6)).map(([n, v]) => `;x${n}=${v}`),
);
const sipUri = fc
  .tuple(
    fc.constantFrom('sip', 'sips'),
    fc.option(user, { nil: undefined }),
    host,
    port,
    fc.array(uriParam, { maxLength: 3 }),
  )
  .map(
    ([s, u, h, p, ps]) =>
      `${s}:${u === undefined ? '' : `${u}@`}${h}${p === undefined ? '' : `:${p}`}${ps.join('')}`,
  );
const headerParam = fc.oneof(
  token.map((t) => `;tag=${t}`),
  fc.nat(100000).map((n) => `;expires=${n}`),
  fc.constantFrom('0', '0.5', '1', '0.333').map((q) => `;q=${q}`),
  fc.integer({ min: 1, max: 100 }).map((n) => `;reg-id=${n}`),
  fc.uuid().map((u) => `;+sip.instance="<urn:uuid:${u}>"`),
  token.map((t) => `;${t}`),
);
const display = fc.oneof(
  fc.constant(''),
  fc.array(token, { minLength: 1, maxLength: 3 }).map((ts) => `${ts.join(' ')} `),
  chars(`${ALNUM} ,;<>@:`, 0, 12).map((d) => `"${d}" `),
);
const nameAddr = fc
  .tuple(display, sipUri, fc.array(headerParam, { maxLength: 3 }))
  .map(([d, u, ps]) => `${d}<${u}>${ps.join('')}`);
const via = fc
  .tuple(
    fc.constantFrom('UDP', 'TCP', 'TLS', 'WS', 'sctp'),
    host,
    port,
    token,
    fc.boolean(),
    fc.option(ipv4, { nil: undefined }),
  )
  .map(
    ([t, h, p, b, r, rec]) =>
      `SIP/2.0/${t} ${h}${p === undefined ? '' : `:${p}`};branch=z9hG4bK${b}${r ? ';rport' : ''}${rec === undefined ? '' : `;received=${rec}`}`,
  );
const listOf = (a: fc.Arbitrary<string>): fc.Arbitrary<string> =>
  fc.array(a, { minLength: 1, maxLength: 3 }).map((xs) => xs.join(', '));
const unknownValue = chars(`${ALNUM} !#$%&'()*+,-./:;<=>?@[]^_{|}~"`, 1, 30)
  .map((v) => v.trim())
  .filter((v) => v.length > 0);
const METHODS = ['INVITE', 'REGISTER', 'OPTIONS', 'BYE', 'MESSAGE', 'SUBSCRIBE', 'NOTIFY'];

interface Header {
  /** Name as written (maybe compact). */
  name: string;
  /** Value as written (maybe folded over lines). */
  wire: string;
  /** The value with folding undone. */
  value: string;
}

/** A header with random compact name and random folding at single spaces. */
function header(
  full: string,
  compact: string | undefined,
  value: fc.Arbitrary<string>,
): fc.Arbitrary<Header> {
  return fc
    .tuple(value, fc.boolean(), fc.array(fc.boolean(), { maxLength: 8 }))
    .map(([v, useCompact, folds]) => {
      let i = 0;
      const wire = v.replace(/(?<=\S) (?=\S)/g, () =>
        (folds[i++] ?? false) ? (i % 2 ? '\r\n ' : '\r\n\t') : ' ',
      );
      return { name: useCompact && compact !== undefined ? compact : full, wire, value: v };
    });
}

interface Message {
  startLine: string;
  method: string | undefined;
  headers: Header[];
  clName: string;
  body: string;
}

const message: fc.Arbitrary<Message> = fc
  .record({
    kind: fc.oneof(
      fc
        .tuple(fc.constantFrom(...METHODS), sipUri)
        .map(([m, u]) => ({ startLine: `${m} ${u} SIP/2.0`, method: m as string | undefined })),
      fc
        .tuple(
          fc.integer({ min: 100, max: 699 }),
          chars(`${ALNUM} -`, 0, 20),
          fc.constantFrom(...METHODS),
        )
        .map(([s, r, m]) => ({
          startLine: `SIP/2.0 ${s} ${r}`,
          method: undefined as string | undefined,
          cseqMethod: m,
        })),
    ),
    vias: fc.array(header('Via', 'v', listOf(via)), { minLength: 1, maxLength: 3 }),
    from: header('From', 'f', nameAddr),
    to: header('To', 't', nameAddr),
    callId: header(
      'Call-ID',
      'i',
      fc.tuple(token, hostname).map(([a, h]) => `${a}@${h}`),
    ),
    seq: fc.nat(0x7fffffff),
    maxForwards: fc.nat(255),
    contacts: fc.array(header('Contact', 'm', listOf(nameAddr)), { maxLength: 2 }),
    routes: fc.array(header('Route', undefined, listOf(sipUri.map((u) => `<${u};lr>`))), {
      maxLength: 2,
    }),
    supported: fc.array(header('Supported', 'k', listOf(token)), { maxLength: 1 }),
    unknown: fc.array(header('X-Fuzz', undefined, unknownValue), { maxLength: 3 }),
    clCompact: fc.boolean(),
    body: fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b).toString('latin1')),
    order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
  })
  .map((r) => {
    const method = r.kind.method ?? ('cseqMethod' in r.kind ? String(r.kind.cseqMethod) : 'INVITE');
    const fixed: Header[] = [
      r.from,
      r.to,
      r.callId,
      { name: 'CSeq', wire: `${r.seq} ${method}`, value: `${r.seq} ${method}` },
      ...(r.kind.method === undefined
        ? []
        : [{ name: 'Max-Forwards', wire: String(r.maxForwards), value: String(r.maxForwards) }]),
      ...r.contacts,
      ...r.routes,
      ...r.supported,
      ...r.unknown,
    ];
    // shuffle the non-Via headers; Vias stay on top, in order
    const keyed = fixed.map((h, i) => ({ h, k: r.order[i % r.order.length] ?? 0 }));
    keyed.sort((a, b) => a.k - b.k);
    return {
      startLine: r.kind.startLine,
      method: r.kind.method,
      headers: [...r.vias, ...keyed.map((x) => x.h)],
      clName: r.clCompact ? 'l' : 'Content-Length',
      body: r.body,
    };
  });

function wire(m: Message): Buffer {
  let out = `${m.startLine}\r\n`;
  for (const h of m.headers) out += `${h.name}: ${h.wire}\r\n`;
  out += `${m.clName}: ${m.body.length}\r\n\r\n${m.body}`;
  return Buffer.from(out, 'latin1');
}

function scanned(b: Buffer): SipMessage {
  const r = scanMessage(b);
  if (!r.ok) throw new Error(`${r.error.message}\n${b.toString('latin1')}`);
  return r.msg;
}

function headerPairs(m: SipMessage): [string, string][] {
  return Array.from(
    { length: m.headerCount },
    (_, k) => [m.headerNameAt(k), m.headerValueAt(k)] as [string, string],
  );
}

// ---- edits and their expected effect

type Edit =
  | { op: 'top'; line: string }
  | { op: 'before'; k: number; line: string }
  | { op: 'append'; line: string }
  | { op: 'remove'; k: number }
  | { op: 'replace'; k: number; value: string }
  | { op: 'ruri'; uri: string }
  | { op: 'body'; body: string };

const headerLine = fc
  .tuple(fc.constantFrom('Record-Route', 'X-Edit', 'Path', 'Via'), fc.nat(1000))
  .map(([n, i]) =>
    n === 'Via'
      ? `Via: SIP/2.0/UDP proxy${i}.example;branch=z9hG4bKe${i}`
      : n === 'X-Edit'
        ? `X-Edit: ${i}`
        : `${n}: <sip:p${i}.example;lr>`,
  );
const edit: fc.Arbitrary<Edit> = fc.oneof(
  headerLine.map((line) => ({ op: 'top' as const, line })),
  fc.tuple(fc.nat(20), headerLine).map(([k, line]) => ({ op: 'before' as const, k, line })),
  headerLine.map((line) => ({ op: 'append' as const, line })),
  fc.nat(20).map((k) => ({ op: 'remove' as const, k })),
  fc
    .tuple(fc.nat(20), chars(`${ALNUM} ;=<>:@.`, 1, 20))
    .map(([k, v]) => ({ op: 'replace' as const, k, value: v.trim() || 'x' })),
  sipUri.map((uri) => ({ op: 'ruri' as const, uri })),
  fc
    .uint8Array({ maxLength: 60 })
    .map((b) => ({ op: 'body' as const, body: Buffer.from(b).toString('latin1') })),
);

/** The header pairs and body that applying `edits` to `m` must give. */
function expected(
  m: SipMessage,
  edits: Edit[],
): { headers: [string, string][]; body: string; startLine: string } {
  const n = m.headerCount;
  const clK = m.indexOf('Content-Length');
  const removed = new Set<number>();
  const replaced = new Map<number, string>();
  const before = new Map<number, string[]>();
  const top: string[] = [];
  const end: string[] = [];
  let body = m.body.toString('latin1');
  let startLine = m.toString().slice(0, m.toString().indexOf('\r\n'));
  for (const e of edits) {
    if (e.op === 'top') top.push(e.line);
    else if (e.op === 'append') end.push(e.line);
    else if (e.op === 'before' && e.k < n) before.set(e.k, [...(before.get(e.k) ?? []), e.line]);
    else if (e.op === 'remove' && e.k < n) removed.add(e.k);
    else if (e.op === 'replace' && e.k < n) replaced.set(e.k, e.value);
    else if (e.op === 'ruri' && m instanceof SipRequest) startLine = `${m.method} ${e.uri} SIP/2.0`;
    else if (e.op === 'body') body = e.body;
  }
  const split = (l: string): [string, string] => {
    const c = l.indexOf(':');
    return [l.slice(0, c), l.slice(c + 1).trim()];
  };
  const headers: [string, string][] = top.map(split);
  for (let k = 0; k < n; k++) {
    for (const l of before.get(k) ?? []) headers.push(split(l));
    if (k === clK) headers.push([m.headerNameAt(k), String(body.length)]);
    else if (!removed.has(k))
      headers.push([m.headerNameAt(k), replaced.get(k) ?? m.headerValueAt(k)]);
  }
  for (const l of end) headers.push(split(l));
  return { headers, body, startLine };
}

function applyEdits(m: SipMessage, edits: Edit[]): EditList {
  const list = new EditList();
  const n = m.headerCount;
  for (const e of edits) {
    if (e.op === 'top') list.insertTop(e.line);
    else if (e.op === 'append') list.append(e.line);
    else if (e.op === 'before' && e.k < n) list.insertBefore(e.k, e.line);
    else if (e.op === 'remove' && e.k < n) list.removeHeader(e.k);
    else if (e.op === 'replace' && e.k < n) list.replaceHeader(e.k, e.value);
    else if (e.op === 'ruri') list.setRequestUri(e.uri);
    else if (e.op === 'body') list.setBody(Buffer.from(e.body, 'latin1'));
  }
  return list;
}

// ---- byte mutations of valid messages

const mutated = fc
  .tuple(
    message.map(wire),
    fc.array(
      fc.tuple(
        fc.constantFrom('flip', 'insert', 'delete', 'truncate'),
        fc.nat(),
        fc.constantFrom(
          0x00,
          0x09,
          0x0a,
          0x0d,
          0x20,
          0x22,
          0x25,
          0x2c,
          0x3a,
          0x3b,
          0x3c,
          0x3d,
          0x3e,
          0x40,
          0x5b,
          0x5c,
          0x5d,
          0xff,
        ),
      ),
      { minLength: 1, maxLength: 6 },
    ),
  )
  .map(([b, ops]) => {
    let bytes = [...b];
    for (const [op, at, byte] of ops) {
      const i = bytes.length === 0 ? 0 : at % bytes.length;
      if (op === 'flip') bytes[i] = byte;
      else if (op === 'insert') bytes.splice(i, 0, byte);
      else if (op === 'delete') bytes.splice(i, 1);
      else bytes = bytes.slice(0, i);
    }
    return Buffer.from(bytes);
  });

describe('message layer fuzz', () => {
  test('arbitrary bytes: scan, validate and every getter never throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1500 }), (bytes) => {
        const r = scanMessage(Buffer.from(bytes));
        if (r.msg !== undefined) touchAll(r.msg);
      }),
      fuzzParameters({ seed: SEED, numRuns: runs(5000) }),
    );
  });

  test('SIP-shaped bytes (ASCII from SIP syntax): never throw', () => {
    const sipChars = fc.string({
      unit: fc.constantFrom(
        ...'SIP/2.0 INVITE sip:a@b;lr <>"\\,:;=?&%[]\r\n\t Via: From: To: Call-ID: CSeq: l: m: v: Contact: * 1 z9hG4bK'.split(
          '',
        ),
      ),
      maxLength: 400,
    });
    fc.assert(
      fc.property(sipChars, (text) => {
        const r = scanMessage(
          Buffer.from(`INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h\r\n${text}`, 'latin1'),
        );
        if (r.msg !== undefined) touchAll(r.msg);
      }),
      fuzzParameters({ seed: SEED, numRuns: runs(4000) }),
    );
  });

  test('mutated valid messages: never throw', () => {
    fc.assert(
      fc.property(mutated, (bytes) => {
        const r = scanMessage(bytes);
        if (r.msg !== undefined) touchAll(r.msg);
      }),
      fuzzParameters({ seed: SEED, numRuns: runs(4000) }),
    );
  });

  test('generated valid messages scan, validate and read back their headers', () => {
    fc.assert(
      fc.property(message, (gen) => {
        const m = scanned(wire(gen));
        assert.equal(validateMessage(m), undefined);
        const pairs = headerPairs(m);
        assert.deepEqual(
          pairs.slice(0, -1),
          gen.headers.map((h) => [h.name, h.value]),
        );
        assert.deepEqual(pairs.at(-1), [gen.clName, String(gen.body.length)]);
        assert.equal(m.body.toString('latin1'), gen.body);
        assert.ok(m.topVia?.branch?.startsWith('z9hG4bK'));
        touchAll(m);
      }),
      fuzzParameters({ seed: SEED, numRuns: runs(1000) }),
    );
  });

  test('serialize∘scan is the identity without edits, byte for byte', () => {
    fc.assert(
      fc.property(message, (gen) => {
        const b = wire(gen);
        const m = scanned(b);
        assert.deepEqual(serialize(m), b);
        // an edit list that changes nothing takes the re-serializing path: still the same bytes
        const noop = new EditList();
        noop.end = [];
        assert.deepEqual(serialize(m, noop), b);
      }),
      fuzzParameters({ seed: SEED, numRuns: runs(1000) }),
    );
  });

  test('serialize after random edits gives the expected headers, values and body', () => {
    fc.assert(
      fc.property(message, fc.array(edit, { maxLength: 8 }), (gen, edits) => {
        const m = scanned(wire(gen));
        const out = scanned(serialize(m, applyEdits(m, edits)));
        const want = expected(m, edits);
        assert.deepEqual(headerPairs(out), want.headers);
        assert.equal(out.body.toString('latin1'), want.body);
        assert.equal(out.contentLength, want.body.length);
        assert.equal(out.toString().slice(0, out.toString().indexOf('\r\n')), want.startLine);
      }),
      fuzzParameters({ seed: SEED, numRuns: runs(1000) }),
    );
  });
});
