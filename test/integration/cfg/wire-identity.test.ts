// Issue 11: for the same input, the .cfg form and the TypeScript form send byte-identical
// messages apart from branch, tag and Call-ID values. The Kamailio test peer's edge.cfg and
// registrar.cfg (kamailio.sh render), compiled by flowgate, against the built-in TypeScript
// translations of the same seed examples (edgeProxyScript({ seed_strict }) and registrarScript()),
// each pair in-process over the harness with identical element options: only the script differs.
// And `flowgate cfg translate`: its TypeScript compiles (tsc, the project's strict settings) and
// runs like the .cfg it came from. And every scenario of the seed-behaviour conformance suites
// (test/conformance/rfc5626/*.case.ts) run through both forms, message for message.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { loadCfgConfig } from '../../../src/config/cfg.js';
import { elementOptions } from '../../../src/config/element.js';
import type { Config } from '../../../src/config/types.js';
import { MemoryLocationStore } from '../../../src/modules/location/memory.js';
import type { Script } from '../../../src/script/api.js';
import { validateScript } from '../../../src/script/api.js';
import { compileCfg } from '../../../src/script/cfg/index.js';
import { edgeProxyScript } from '../../../src/script/edge-proxy.js';
import { registrarScript } from '../../../src/script/registrar.js';
import { ManualClock } from '../../../src/util/clock.js';
import { noopLogger } from '../../../src/util/logger.js';
import { runEdgeSuite } from '../../conformance/rfc5626/edge.case.js';
import { runRegistrarSuite } from '../../conformance/rfc5626/registrar.case.js';
import { type Harness, harness, listener, type Sent } from '../../support/harness.js';
import { inProcessEdge, inProcessRegistrar } from '../../support/seed-forms.js';
import { ROOT, renderPeerCfg } from './cfg-files.js';

const EDGE = '127.0.0.1:5060';
const REG = '127.0.0.2:5060';
const UA_ADDR = { address: '127.0.0.1', port: 40_000 };
const CALLER = '127.0.0.9:5099';

/** The compiled script of a config's only element. */
function cfgScript(c: Config): Script {
  const el = Object.values(c.elements)[0];
  if (el?.script.kind !== 'file' || el.script.compiled === undefined)
    throw new Error('no .cfg script');
  return el.script.compiled;
}

/** Wire text with the values that differ run to run replaced. */
function normalize(s: Sent): string {
  return s.buf
    .toString('latin1')
    .replace(/branch=z9hG4bK[^;,\s>]*/g, 'branch=z9hG4bK*')
    .replace(/;tag=[^;,\s>]*/g, ';tag=*')
    .replace(/^(Call-ID|i):.*$/gm, '$1: *')
    .replace(/temp-gruu="[^"]*"/g, 'temp-gruu="*"');
}

interface Net {
  readonly E: Harness;
  readonly R: Harness;
  /** Everything sent, in order, normalized, with where it went. */
  readonly log: string[];
  /** Messages that reached the UA's flow and the caller. */
  readonly ua: Sent[];
  readonly caller: Sent[];
  readonly flowId: string;
  pump(): Promise<void>;
}

function network(
  edgeOpts: object,
  regOpts: object,
  edgeScript: Script,
  regScript: Script,
  clock: ManualClock,
): Net {
  const E = harness({
    ...edgeOpts,
    clock,
    listen: [],
    script: edgeScript,
    listeners: [listener(0, 'udp', '127.0.0.1', 5060), listener(1, 'tcp', '127.0.0.1', 5060)],
  });
  const R = harness({
    ...regOpts,
    clock,
    listen: [],
    script: regScript,
    listeners: [listener(0, 'udp', '127.0.0.2', 5060), listener(1, 'tcp', '127.0.0.2', 5060)],
  });
  const flow = E.transport.connect('tcp', UA_ADDR, 1);
  const log: string[] = [];
  const ua: Sent[] = [];
  const caller: Sent[] = [];
  // requests go to an address, responses over the flow they came on (`w0/u0/ip:port` for UDP)
  const to = (s: Sent, hostPort: string): boolean => s.to.endsWith(`/${hostPort}`);
  return {
    E,
    R,
    log,
    ua,
    caller,
    flowId: flow.id,
    async pump() {
      for (let i = 0; i < 20; i++) {
        await E.settle();
        await R.settle();
        let moved = false;
        for (const s of E.take()) {
          log.push(`edge -> ${s.to === flow.id ? 'UA flow' : s.to}\n${normalize(s)}`);
          if (to(s, REG)) {
            R.inject(s.buf, EDGE);
            moved = true;
          } else ua.push(s);
        }
        for (const s of R.take()) {
          log.push(`registrar -> ${s.to}\n${normalize(s)}`);
          if (to(s, EDGE)) {
            E.inject(s.buf, REG);
            moved = true;
          } else caller.push(s);
        }
        if (!moved) return;
      }
    },
  };
}

const crlf = (s: string): string => s.replace(/\r?\n/g, '\r\n');

/** A UA reply to a request it received (RFC 3261 §8.2.6). */
function reply(req: Sent, status: number, reason: string, extra = ''): string {
  const m = req.msg;
  const vias = m
    .getHeaders('Via')
    .map((v) => `Via: ${v}\r\n`)
    .join('');
  const rr = m
    .getHeaders('Record-Route')
    .map((v) => `Record-Route: ${v}\r\n`)
    .join('');
  const toTag = status > 100 ? ';tag=ua-tag' : '';
  return `SIP/2.0 ${status} ${reason}\r\n${vias}From: ${m.getHeader('From')}\r\nTo: ${m.getHeader('To')}${toTag}\r\nCall-ID: ${m.callId}\r\nCSeq: ${m.getHeader('CSeq')}\r\n${rr}${extra}Content-Length: 0\r\n\r\n`;
}

/** The scenario: every message both elements send, in order (normalized). */
async function run(n: Net): Promise<string[]> {
  const { E, R } = n;
  const reg = (
    cseq: number,
    extra = '',
    contact = '<sip:alice@127.0.0.1:40000;transport=tcp;ob>;reg-id=1;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>"',
  ) =>
    crlf(`REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP 127.0.0.1:40000;branch=z9hG4bKreg${cseq};rport
Max-Forwards: 70
From: <sip:alice@example.com>;tag=reg-from
To: <sip:alice@example.com>
Call-ID: reg-call-1
CSeq: ${cseq} REGISTER
Contact: ${contact}
Supported: path, outbound, gruu
Expires: 600
${extra}Content-Length: 0

`);
  // 1. an outbound REGISTER through the edge: Path with a token, Flow-Timer on the 200
  E.inject(reg(1), '127.0.0.1:40000', { flowId: n.flowId });
  await n.pump();
  // 2. a refresh, and a REGISTER that does not use outbound (no reg-id: no Flow-Timer)
  E.inject(reg(2), '127.0.0.1:40000', { flowId: n.flowId });
  await n.pump();
  // 3. a call from the caller to the registrar: INVITE through the edge over the UA's flow
  const invite = crlf(`INVITE sip:alice@example.com SIP/2.0
Via: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bKinv1;rport
Max-Forwards: 70
From: <sip:caller@example.com>;tag=caller-tag
To: <sip:alice@example.com>
Call-ID: call-1
CSeq: 1 INVITE
Contact: <sip:caller@127.0.0.9:5099>
Content-Length: 0

`);
  R.inject(invite, CALLER);
  await n.pump();
  const inv = n.ua.find(
    (s) => s.msg.isRequest && (s.msg as { method?: string }).method === 'INVITE',
  );
  assert.ok(inv, `the INVITE reached the UA:\n${n.log.join('\n')}`);
  E.inject(crlf(reply(inv, 180, 'Ringing')), '127.0.0.1:40000', { flowId: n.flowId });
  await n.pump();
  E.inject(
    crlf(reply(inv, 200, 'OK', 'Contact: <sip:alice@127.0.0.1:40000;transport=tcp;ob>\r\n')),
    '127.0.0.1:40000',
    { flowId: n.flowId },
  );
  await n.pump();
  // 4. ACK and BYE from the caller along the Record-Route set (in-dialog: loose_route)
  const ok = n.caller.find(
    (s) => !s.msg.isRequest && (s.msg as { status?: number }).status === 200,
  );
  assert.ok(ok, `the 200 reached the caller:\n${n.log.slice(6).join('\n')}`);
  // the caller's route set: the Record-Route values reversed (RFC 3261 §12.1.2)
  const routes = ok.msg.getHeaders('Record-Route').reverse();
  const toHdr = ok.msg.getHeader('To');
  for (const [m, seq] of [
    ['ACK', 1],
    ['BYE', 2],
  ] as const) {
    R.inject(
      crlf(`${m} sip:alice@127.0.0.1:40000;transport=tcp;ob SIP/2.0
Via: SIP/2.0/UDP 127.0.0.9:5099;branch=z9hG4bK${m}1;rport
Route: ${routes.join(', ')}
Max-Forwards: 70
From: <sip:caller@example.com>;tag=caller-tag
To: ${toHdr}
Call-ID: call-1
CSeq: ${seq} ${m}
Content-Length: 0

`),
      CALLER,
    );
    await n.pump();
  }
  const bye = n.ua.find((s) => s.msg.isRequest && (s.msg as { method?: string }).method === 'BYE');
  assert.ok(bye, `the BYE reached the UA:\n${n.log.slice(-4).join('\n')}`);
  E.inject(crlf(reply(bye, 200, 'OK')), '127.0.0.1:40000', { flowId: n.flowId });
  await n.pump();
  // 5. a call to a user nobody registered: 404 from the registrar
  R.inject(
    invite.replace(/alice/g, 'nobody').replace(/inv1/, 'inv2').replace('call-1', 'call-2'),
    CALLER,
  );
  await n.pump();
  // 6. the edge's own answers: Max-Forwards 0 (483), no user part from a client (484), sanity (400)
  const opt = (ruri: string, extra: string, branch: string) =>
    crlf(`OPTIONS ${ruri} SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:40001;branch=z9hG4bK${branch};rport
${extra}From: <sip:bob@example.com>;tag=bob-tag
To: <${ruri}>
Call-ID: opt-${branch}
CSeq: 7 OPTIONS
Content-Length: 0

`);
  E.inject(opt('sip:alice@example.com', 'Max-Forwards: 0\n', 'mf0'), '127.0.0.1:40001');
  E.inject(opt('sip:example.com', 'Max-Forwards: 70\n', 'nouser'), '127.0.0.1:40001');
  E.inject(
    opt('sip:alice@example.com', 'Max-Forwards: 70\n', 'sane').replace(
      'CSeq: 7 OPTIONS',
      'CSeq: 7 INFO',
    ),
    '127.0.0.1:40001',
  );
  // 7. a client OPTIONS relayed to the registrar (no Max-Forwards: the edge adds it)
  E.inject(opt('sip:alice@example.com', '', 'relay'), '127.0.0.1:40001');
  await n.pump();
  // 8. the UA's flow closes: a call to it fails at once at the edge (430), the registrar answers 480
  E.closeFlow(n.flowId, 'remote');
  R.inject(invite.replace(/inv1/, 'inv3').replace('call-1', 'call-3'), CALLER);
  await n.pump();
  return n.log;
}

describe('the .cfg form and the TypeScript form send the same bytes', () => {
  let dir: string;
  let edgeCfg: Config;
  let regCfg: Config;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fg-cfg-wire-'));
    const vars = {
      EDGE_IP: '127.0.0.1',
      EDGE_PORT: 5060,
      WS_PORT: 8080,
      REG_IP: '127.0.0.2',
      REG_PORT: 5060,
      DBTEXT_DIR: join(dir, 'dbtext'),
    };
    edgeCfg = loadCfgConfig(renderPeerCfg('edge', vars, dir));
    regCfg = loadCfgConfig(renderPeerCfg('registrar', vars, dir));
    mkdirSync(edgeCfg.data_dir, { recursive: true });
    mkdirSync(regCfg.data_dir, { recursive: true });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  async function form(
    edgeScript: (c: Config) => Script,
    regScript: (c: Config) => Script,
  ): Promise<string[]> {
    const clock = new ManualClock();
    const location = new MemoryLocationStore({ clock });
    await location.open();
    const e = elementOptions(edgeCfg, 'edge', { script: cfgScript(edgeCfg), logger: noopLogger });
    const r = elementOptions(regCfg, 'registrar', {
      script: cfgScript(regCfg),
      logger: noopLogger,
      location,
    });
    const n = network(e, r, edgeScript(edgeCfg), regScript(regCfg), clock);
    try {
      return await run(n);
    } finally {
      await n.E.server.close();
      await n.R.server.close();
      await location.close();
    }
  }

  test('edge.cfg + registrar.cfg vs edgeProxyScript({ seed_strict }) + registrarScript(): REGISTER, call, BYE, 404, 483, 484, 400, relay, 430/480', async () => {
    const cfg = await form(cfgScript, cfgScript);
    const ts = await form(
      () => edgeProxyScript({ registrar: 'sip:127.0.0.2:5060', flowTimer: 20, seedStrict: true }),
      () => registrarScript(),
    );
    // the scenario did what it says (so that the comparison compares something)
    const text = cfg.join('\n');
    assert.match(text, /^Flow-Timer: 20\r$/m);
    assert.match(text, /^Path: <sip:[^@]+@127\.0\.0\.1;lr;ob>\r$/m);
    for (const status of [
      '200 OK',
      '180 Ringing',
      '404 Not Found',
      '483 Too Many Hops',
      '484 Address Incomplete',
      '400 ',
      '480 Temporarily Unavailable',
    ])
      assert.ok(text.includes(`SIP/2.0 ${status}`), `a ${status} was sent`);
    assert.ok(cfg.length > 20, `${cfg.length} messages`);
    assert.equal(cfg.length, ts.length, 'as many messages');
    for (let i = 0; i < cfg.length; i++) assert.equal(cfg[i], ts[i], `message ${i + 1}`);
  });

  test('flowgate cfg translate: the TypeScript compiles with tsc (strict project settings) and runs like the .cfg', async () => {
    const out = join(dir, 'translated');
    mkdirSync(out, { recursive: true });
    const files: string[] = [];
    for (const c of [edgeCfg, regCfg]) {
      const el = Object.values(c.elements)[0];
      if (el?.script.kind !== 'file') throw new Error('no .cfg');
      const ts = compileCfg(el.script.path).typescript({
        importFrom: join(ROOT, 'src', 'index.js'),
      });
      const f = join(out, `${el.name}.ts`);
      writeFileSync(f, ts);
      files.push(f);
    }
    // as in a user's ESM project
    writeFileSync(join(out, 'package.json'), '{ "type": "module" }\n');
    writeFileSync(
      join(out, 'tsconfig.json'),
      JSON.stringify({
        extends: join(ROOT, 'tsconfig.json'),
        compilerOptions: {
          rootDir: '/',
          noEmit: true,
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        include: [],
        files,
      }),
    );
    try {
      execFileSync(
        process.execPath,
        [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(out, 'tsconfig.json')],
        {
          encoding: 'utf8',
          timeout: 120_000,
        },
      );
    } catch (e) {
      assert.fail(
        `tsc failed on the translation:\n${(e as { stdout?: string }).stdout ?? String(e)}`,
      );
    }
    const { tsImport } = (await import('tsx/esm/api')) as {
      tsImport(specifier: string, parent: string): Promise<{ default: unknown }>;
    };
    const load = async (f: string): Promise<Script> =>
      validateScript((await tsImport(f, import.meta.url)).default, f);
    const edgeTs = await load(files[0] as string);
    const regTs = await load(files[1] as string);
    const cfg = await form(cfgScript, cfgScript);
    const translated = await form(
      () => edgeTs,
      () => regTs,
    );
    assert.equal(translated.length, cfg.length);
    for (let i = 0; i < cfg.length; i++) assert.equal(translated[i], cfg[i], `message ${i + 1}`);
  });
});

describe('the conformance scenarios through both forms send the same bytes', () => {
  // The edge and registrar suites run here once more, recording every message each in-process
  // element sends (normalized as above), keyed by test: the edge as the built-in script with
  // seed_strict against edge.cfg (the seed's behaviour both), the registrar as the built-in script
  // against registrar.cfg. Tests that do not run in the .cfg form (flowgate-only decisions) record
  // nothing there and are not compared.
  let current = '';
  beforeEach((t) => {
    current = t.name;
  });
  const name = (): string => current;
  const rec = {
    edgeTs: new Map<string, string[]>(),
    edgeCfg: new Map<string, string[]>(),
    regTs: new Map<string, string[]>(),
    regCfg: new Map<string, string[]>(),
  };
  runEdgeSuite(inProcessEdge('ts-seed', { record: rec.edgeTs, testName: name }));
  runEdgeSuite(inProcessEdge('cfg', { record: rec.edgeCfg, testName: name }));
  runRegistrarSuite(inProcessRegistrar('ts', { record: rec.regTs, testName: name }));
  runRegistrarSuite(inProcessRegistrar('cfg', { record: rec.regCfg, testName: name }));

  function compare(ts: Map<string, string[]>, cfg: Map<string, string[]>): number {
    let compared = 0;
    for (const [test, c] of cfg) {
      const t = ts.get(test);
      if (t === undefined) continue;
      compared++;
      assert.equal(
        t.length,
        c.length,
        `${test}: as many messages (ts ${t.length}, cfg ${c.length})`,
      );
      for (let i = 0; i < c.length; i++) assert.equal(c[i], t[i], `${test}: message ${i + 1}`);
    }
    return compared;
  }

  test('edge: edge.cfg and edgeProxyScript({ seed_strict }) send the same bytes in every scenario of edge.case.ts', () => {
    const n = compare(rec.edgeTs, rec.edgeCfg);
    const messages = [...rec.edgeCfg.values()].reduce((a, m) => a + m.length, 0);
    assert.ok(n >= 60, `${n} scenarios compared`);
    assert.ok(messages >= 120, `${messages} messages compared`);
  });

  test('registrar: registrar.cfg and registrarScript() send the same bytes in every scenario of registrar.case.ts', () => {
    const n = compare(rec.regTs, rec.regCfg);
    const messages = [...rec.regCfg.values()].reduce((a, m) => a + m.length, 0);
    assert.ok(n >= 60, `${n} scenarios compared`);
    assert.ok(messages >= 200, `${messages} messages compared`);
  });
});
