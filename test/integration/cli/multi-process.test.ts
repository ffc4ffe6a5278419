// Issue 12 §5: one configuration file for a multi-process host. The edges share their settings
// through a YAML merge key (<<: *edge); each `flowgate start --role …` process gets its own
// management address and data directory with --set on its command line. All three processes start
// from the same file and listen, a phone registers through each edge, and the registrar has both
// bindings. `flowgate check` takes the same --set, and a wrong one is reported at the argument.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../support/net.js';
import { TestUa } from '../../support/ua.js';
import { ensureBuilt, Running, run } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-multi-'));
const FILE = join(DIR, 'host.yaml');
after(() => rmSync(DIR, { recursive: true, force: true }));

/** The host's one file: two edges and a registrar on loopback; management and data_dir shared. */
function hostYaml(ports: { edge: number; edge2: number; registrar: number }): string {
  return [
    'data_dir: shared.data',
    'management:',
    '  listen: 127.0.0.1:8081',
    'x-edge: &edge',
    '  script: edge',
    '  tcp_connection_lifetime: 3600',
    '  modules:',
    '    outbound:',
    `      flow_token_secret: ${'k'.repeat(40)}`,
    'elements:',
    '  edge:',
    '    <<: *edge',
    `    listen: [udp:127.0.0.1:${ports.edge}, tcp:127.0.0.1:${ports.edge}]`,
    '  edge2:',
    '    <<: *edge',
    `    listen: [udp:127.0.0.1:${ports.edge2}, tcp:127.0.0.1:${ports.edge2}]`,
    '  registrar:',
    `    listen: [udp:127.0.0.1:${ports.registrar}, tcp:127.0.0.1:${ports.registrar}]`,
    '',
  ].join('\n');
}

describe('one file, three processes: --role and --set management.listen / data_dir', {
  timeout: 90_000,
}, () => {
  const procs = new Map<string, Running>();
  const uas: TestUa[] = [];
  const ports = { edge: 0, edge2: 0, registrar: 0 };
  const mgmt = new Map<string, number>();

  before(async () => {
    ensureBuilt();
    ports.edge = await freePort('tcp');
    ports.edge2 = await freePort('tcp');
    ports.registrar = await freePort('tcp');
    writeFileSync(FILE, hostYaml(ports));
    for (const role of ['registrar', 'edge', 'edge2']) mgmt.set(role, await freePort('tcp'));
    for (const role of ['registrar', 'edge', 'edge2']) {
      const r = await Running.start([
        '-c',
        FILE,
        '--role',
        role,
        '--set',
        `management.listen=127.0.0.1:${mgmt.get(role)}`,
        `--set=data_dir=${join(DIR, role)}`,
      ]);
      procs.set(role, r);
      assert.equal(r.exitCode, undefined, `${role}: ${r.stderr}`);
    }
  });

  after(async () => {
    for (const u of uas) u.close();
    for (const p of [...procs.values()].reverse()) {
      await p.stop().catch(() => p.kill());
      p.kill();
    }
  });

  test('each process listens on its element and its own management address', async () => {
    for (const [role, p] of procs) {
      const port = ports[role as keyof typeof ports];
      assert.deepEqual(p.listeners.get(role), [`udp:127.0.0.1:${port}`, `tcp:127.0.0.1:${port}`]);
      assert.equal(p.managementUrl, `http://127.0.0.1:${mgmt.get(role)}`);
      const res = await fetch(`${p.managementUrl}/health`, { signal: AbortSignal.timeout(5000) });
      assert.equal(res.status, 200, role);
    }
  });

  test('each process has its own data directory (its management token there), none shared', () => {
    const tokens = new Set<string>();
    for (const [role, p] of procs) {
      const dir = join(DIR, role);
      assert.match(
        p.stderr,
        new RegExp(`data in ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`),
      );
      tokens.add(readFileSync(join(dir, 'management.token'), 'utf8').trim());
    }
    assert.equal(tokens.size, 3);
    assert.equal(existsSync(join(DIR, 'shared.data')), false);
  });

  test('a phone registers through each edge; the registrar holds both bindings', async () => {
    for (const [n, edge] of [
      ['alice', 'edge'],
      ['bob', 'edge2'],
    ] as const) {
      const ua = await TestUa.connect('tcp', '127.0.0.1', ports[edge], { user: n });
      uas.push(ua);
      const r = await ua.register({ regId: 1 });
      assert.equal(r.status, 200, r.toString());
    }
    const reg = procs.get('registrar');
    assert.ok(reg !== undefined);
    const token = readFileSync(join(DIR, 'registrar', 'management.token'), 'utf8').trim();
    for (const [n, edge] of [
      ['alice', 'edge'],
      ['bob', 'edge2'],
    ] as const) {
      const res = await fetch(`${reg.managementUrl}/v1/bindings?aor=sip:${n}@example.com`, {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 200);
      const { bindings } = (await res.json()) as { bindings: { path: string[] }[] };
      assert.equal(bindings.length, 1, n);
      assert.match(bindings[0]?.path[0] ?? '', new RegExp(`@127\\.0\\.0\\.1:${ports[edge]};`), n);
    }
  });
});

describe('flowgate check and start with --set', () => {
  before(() => {
    ensureBuilt();
    writeFileSync(FILE, hostYaml({ edge: 5060, edge2: 5062, registrar: 5070 }));
  });

  test('check: the file with the changes; OK', async () => {
    const r = await run([
      'check',
      '--no-port-check',
      FILE,
      '--set',
      'management.listen=127.0.0.1:8083',
      '--set',
      `data_dir=${join(DIR, 'edge2')}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /: OK\n {2}edge: script edge, listen udp:127\.0\.0\.1:5060 /);
  });

  test('check: a wrong --set value, an unknown key, a bad argument: at the argument, exit 1', async () => {
    const r = await run([
      'check',
      FILE,
      '--no-port-check',
      '--set',
      'elements.edge.tcp_connection_lifetime=abc',
      '--set',
      'elements.edge2.modules.outbound.flow_token_secre=x',
    ]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stderr,
      [
        '--set elements.edge.tcp_connection_lifetime=abc: expected a positive integer (seconds), got "abc"',
        "--set elements.edge2.modules.outbound.flow_token_secre=x: unknown key 'flow_token_secre' (did you mean 'flow_token_secret'?)",
        `2 problems in ${FILE}`,
        '',
      ].join('\n'),
    );
    const bad = await run(['check', FILE, '--set', 'management.listen']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^--set management\.listen: expected KEY=VALUE, /);
  });

  test('check: a host check of a --set value (an address not on this host) names the argument', async () => {
    const r = await run([
      'check',
      FILE,
      '--set',
      'management.listen=198.51.100.7:8082',
      '--set',
      `management.token=${'t'.repeat(20)}`,
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^--set management\.listen=198\.51\.100\.7:8082: cannot listen on the management API 198\.51\.100\.7:8082: 198\.51\.100\.7 is not an address of this host/m,
    );
    assert.doesNotMatch(r.stderr, /t{20}/, 'the token is not echoed');
  });

  test('start: a wrong --set value starts nothing (exit 1); --set without a value is usage (exit 2)', async () => {
    const r = await run(['start', '-c', FILE, '--set', 'elements.edge.listen=[bogus:1]']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^--set elements\.edge\.listen=\[bogus:1\]: /);
    const u = await run(['start', '-c', FILE, '--set']);
    assert.equal(u.code, 2);
    assert.equal(
      u.stderr,
      "flowgate start: option '--set' needs a value\nRun 'flowgate start --help' for usage.\n",
    );
  });
});
