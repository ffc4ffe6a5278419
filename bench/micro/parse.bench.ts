// Message-layer parse benchmark: flowgate's scanner + lazy getters against the npm `sip` package
// (kirm/sip.js, `sip.parse`), side by side in one process, on a realistic RFC 5626 REGISTER and an
// INVITE with SDP. Each iteration parses one message from the same wire Buffer and reads the Via
// branch, CSeq, Call-ID, the From and To tags and the Contact URI (`sip.parse` is handed the Buffer,
// as its transports do: it converts it with `toString('binary')` first). Rounds alternate between
// the runners; each runner's best round (the least disturbed by other load on the machine) and its
// median round are reported.
//
// Run: npm run bench:parse            (about 40 s)
//      BENCH_ROUNDS=2 BENCH_ROUND_MS=50 npm run bench:parse   (smoke run)
//      npm run build && BENCH_MESSAGE_MODULE=$PWD/dist/message/index.js npm run bench:parse
//                                      (the compiled modules production runs, instead of src/)
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { SipMessage } from '../../src/message/index.js';
import * as sourceLayer from '../../src/message/index.js';

const { BENCH_MESSAGE_MODULE } = process.env;
const { scanMessage, validateMessage }: typeof sourceLayer =
  BENCH_MESSAGE_MODULE === undefined
    ? sourceLayer
    : await import(pathToFileURL(BENCH_MESSAGE_MODULE).href);

// `sip` ships no type declarations: load it through require with the one signature used here
const sip = createRequire(import.meta.url)('sip') as { parse(data: Buffer | string): unknown };

const REGISTER = Buffer.from(
  [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/TCP 192.0.2.2:49210;branch=z9hG4bKnashds7;rport',
    'Max-Forwards: 70',
    'From: Bob <sip:bob@example.com>;tag=7F94778B653B',
    'To: Bob <sip:bob@example.com>',
    'Call-ID: 16CB75F21C70@192.0.2.2',
    'CSeq: 1 REGISTER',
    'Supported: path, outbound, gruu',
    'Contact: <sip:bob@192.0.2.2:49210;transport=tcp;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-AABBCCDDEEFF>";expires=3600',
    'User-Agent: flowgate-bench/1.0',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER',
    'Content-Length: 0',
    '',
    '',
  ].join('\r\n'),
  'latin1',
);

const SDP = [
  'v=0',
  'o=alice 2890844526 2890844526 IN IP4 192.0.2.101',
  's=-',
  'c=IN IP4 192.0.2.101',
  't=0 0',
  'm=audio 49172 RTP/AVP 0 8 97',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:97 iLBC/8000',
  'a=sendrecv',
  '',
].join('\r\n');

const INVITE = Buffer.from(
  [
    'INVITE sip:bob@example.com SIP/2.0',
    'Via: SIP/2.0/TLS 192.0.2.101:50611;branch=z9hG4bK74bf9;rport',
    'Max-Forwards: 70',
    'Route: <sip:edge.example.com;transport=tls;lr>',
    'From: "Alice" <sip:alice@example.com>;tag=9fxced76sl',
    'To: <sip:bob@example.com>',
    'Call-ID: 3848276298220188511@atlanta.example.com',
    'CSeq: 314159 INVITE',
    'Contact: <sip:alice@192.0.2.101:50611;transport=tls;ob>',
    'Allow: INVITE, ACK, CANCEL, BYE, OPTIONS, UPDATE, PRACK, REFER, NOTIFY',
    'Supported: outbound, replaces, timer, 100rel',
    'User-Agent: flowgate-bench/1.0',
    'Content-Type: application/sdp',
    `Content-Length: ${SDP.length}`,
    '',
    SDP,
  ].join('\r\n'),
  'latin1',
);

/** The fields a proxy reads from every request: Via branch, CSeq, Call-ID, tags, Contact URI. */
function readOurs(m: SipMessage): number {
  let x = m.topVia?.branch?.length ?? 0;
  const cseq = m.cseq;
  x += (cseq?.seq ?? 0) + (cseq?.method.length ?? 0);
  x += m.callId?.length ?? 0;
  x += m.fromTag?.length ?? 0;
  x += m.toTag?.length ?? 1;
  const c = m.contacts;
  if (c !== undefined && !c.star) x += c.contacts[0]?.uriText.length ?? 0;
  return x;
}

function ours(buf: Buffer): number {
  const r = scanMessage(buf);
  return r.ok ? readOurs(r.msg) : 0;
}

/** The same, plus the RFC 5626 Contact parameters and the parsed Contact URI host. */
function oursOutbound(buf: Buffer): number {
  const r = scanMessage(buf);
  if (!r.ok) return 0;
  let x = readOurs(r.msg);
  const c = r.msg.contacts;
  const first = c !== undefined && !c.star ? c.contacts[0] : undefined;
  if (first !== undefined) {
    x += first.param('reg-id')?.length ?? 0;
    x += first.param('+sip.instance')?.length ?? 0;
    const u = first.uri;
    x += 'host' in u ? u.host.length : 0;
  }
  return x;
}

/** The receive path: scan, validateMessage, then the reads. */
function oursValidated(buf: Buffer): number {
  const r = scanMessage(buf);
  if (!r.ok || validateMessage(r.msg) !== undefined) return 0;
  return readOurs(r.msg);
}

/** What `sip.parse` returns, as far as this benchmark reads it. */
interface SipHeaders {
  via: { params: { branch?: string | null } }[];
  cseq: { seq: number; method: string };
  'call-id': string;
  from: { params: { tag?: string | null } };
  to: { params: { tag?: string | null } };
  contact?: { uri: string }[];
}

function theirs(buf: Buffer): number {
  const m = sip.parse(buf) as { headers: SipHeaders } | undefined;
  if (m === undefined) return 0;
  const h = m.headers;
  let x = h.via[0]?.params.branch?.length ?? 0;
  x += h.cseq.seq + h.cseq.method.length;
  x += h['call-id'].length;
  x += h.from.params.tag?.length ?? 0;
  x += h.to.params.tag?.length ?? 1;
  x += h.contact?.[0]?.uri.length ?? 0;
  return x;
}

const { BENCH_ROUND_MS, BENCH_ROUNDS } = process.env;
const ROUND_MS = Number(BENCH_ROUND_MS ?? 300);
const ROUNDS = Number(BENCH_ROUNDS ?? 15);

/** Runs `f` for about ROUND_MS; returns messages per second. */
function round(f: () => number): number {
  let n = 0;
  let sink = 0;
  const t0 = process.hrtime.bigint();
  const limit = BigInt(ROUND_MS) * 1_000_000n;
  let dt = 0n;
  do {
    for (let i = 0; i < 1000; i++) sink += f();
    n += 1000;
    dt = process.hrtime.bigint() - t0;
  } while (dt < limit);
  if (sink === 0) throw new Error('benchmark body returned nothing');
  return (n * 1e9) / Number(dt);
}

interface Case {
  name: string;
  runners: [string, () => number][];
}

const cases: Case[] = [REGISTER, INVITE].map((buf) => {
  const text = buf.toString('latin1');
  const name = text.slice(0, text.indexOf(' '));
  if (ours(buf) !== theirs(buf)) throw new Error(`${name}: the two parsers read different fields`);
  return {
    name,
    runners: [
      ['flowgate', () => ours(buf)],
      ['npm sip', () => theirs(buf)],
      ['flowgate + RFC 5626 Contact params, URI', () => oursOutbound(buf)],
      ['flowgate + validateMessage', () => oursValidated(buf)],
    ],
  };
});

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  return s[s.length >> 1] ?? 0;
};
const fmt = (v: number): string => Math.round(v).toLocaleString('en-US').padStart(11);
for (const c of cases) {
  const rates = new Map<string, number[]>();
  for (const [, f] of c.runners) round(f); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    for (const [label, f] of c.runners) {
      const v = rates.get(label) ?? [];
      v.push(round(f));
      rates.set(label, v);
    }
  }
  const theirsBest = Math.max(...(rates.get('npm sip') ?? [1]));
  const theirsMedian = median(rates.get('npm sip') ?? [1]);
  console.log(
    `\n${c.name} (${c.runners.length} runners, ${ROUNDS} rounds of ${ROUND_MS} ms; best round, then median round)`,
  );
  for (const [label, v] of rates) {
    const best = Math.max(...v);
    const med = median(v);
    console.log(
      `  ${label.padEnd(42)} ${fmt(best)} msg/s ${(1e9 / best).toFixed(0).padStart(5)} ns ${(best / theirsBest).toFixed(2)}x` +
        `  | ${fmt(med)} msg/s ${(1e9 / med).toFixed(0).padStart(5)} ns ${(med / theirsMedian).toFixed(2)}x`,
    );
  }
}
