// The built CLI as a user runs it: version/help, check, start (edge + registrar on ephemeral ports),
// SIP over UDP and TCP, every management endpoint and ctl command, /metrics, SIGHUP, SIGTERM.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort, UdpClient, WAIT_MS, waitFor } from '../../support/net.js';
import { TestUa } from '../../support/ua.js';
import { ensureBuilt, ROOT, Running, run } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-cli-'));
const TOKEN = 'cli-test-token-0123456789';

before(() => ensureBuilt());
after(() => rmSync(DIR, { recursive: true, force: true }));

function readOr(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

function file(name: string, text: string): string {
  const p = join(DIR, name);
  writeFileSync(p, text);
  return p;
}

describe('flowgate version / help', () => {
  test('version prints the package and Node versions', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await run(['version']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, `flowgate ${pkg.version} (node ${process.version})\n`);
  });

  test('help, no command, unknown command, unknown option', async () => {
    const h = await run(['help']);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /flowgate start \[-c file\] \[--role name\]/);
    assert.match(h.stdout, /ctl Commands:/);
    assert.match(h.stdout, /flowgate ctl \[--url u\] \[--token t\] \[-c file\] \[--data-dir dir\]/);
    assert.match(
      h.stdout,
      /^ {4}--data-dir DIR {3}the server's data directory, as given to flowgate start/m,
    );
    assert.match(h.stdout, /<data dir>\/management\.token/);
    assert.equal((await run([])).code, 2);
    const u = await run(['frobnicate']);
    assert.equal(u.code, 2);
    assert.match(u.stderr, /unknown command 'frobnicate'/);
    const o = await run(['start', '--bogus']);
    assert.equal(o.code, 2);
    assert.equal(
      o.stderr,
      "flowgate start: unknown option '--bogus' (start takes -c/--config, --role, --data-dir, --log-level, --pretty, --set)\nRun 'flowgate start --help' for usage.\n",
    );
  });
});

describe('flowgate check', () => {
  test('a good file: exit 0, what it would run', async () => {
    // its fixed ports (5060, 5070, 8080, 8081) may be held by another test running the default
    // system: only the addresses are checked here (check.test.ts covers the ports)
    const r = await run(['check', '--no-port-check', 'examples/flowgate.yaml']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      'examples/flowgate.yaml: OK\n  edge: script edge, listen udp:127.0.0.1:5060 tcp:127.0.0.1:5060 ws:127.0.0.1:8080\n  registrar: script registrar, listen udp:127.0.0.1:5070 tcp:127.0.0.1:5070\n',
    );
  });

  test('a bad file: exit 1, every problem with file:line:col on stderr', async () => {
    const p = file(
      'bad.yaml',
      'elements:\n  edge:\n    modules:\n      tm: { fr_timer: abc }\n  registrar:\n    listen: [udp:127.0.0.1:5060]\n    tcp_conection_lifetime: 3\n',
    );
    const r = await run(['check', p], { cwd: DIR });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.equal(
      r.stderr,
      [
        'bad.yaml:4:23: elements.edge.modules.tm.fr_timer: expected a positive integer (milliseconds), got "abc"',
        "bad.yaml:7:5: elements.registrar.tcp_conection_lifetime: unknown key 'tcp_conection_lifetime' (did you mean 'tcp_connection_lifetime'?)",
        `2 problems in ${p}`,
        '',
      ].join('\n'),
    );
  });

  test('resolves: script files must export a script, TLS files must be readable', async () => {
    file('good.mjs', "export default { request_route(ctx) { ctx.sl_send_reply(200, 'OK'); } };\n");
    file(
      'good.ts',
      "const s = { request_route(ctx: { sl_send_reply(c: number, r: string): void }): void { ctx.sl_send_reply(200, 'OK'); } };\nexport default s;\n",
    );
    file('bad.mjs', 'export default { route: {} };\n');
    const p = file(
      'scripts.yaml',
      'elements:\n  a:\n    script: ./good.mjs\n    listen: [udp:127.0.0.1:5091]\n  b:\n    script: ./bad.mjs\n    listen: [udp:127.0.0.1:5092]\n  c:\n    script: ./missing.js\n    listen: [udp:127.0.0.1:5093]\n  d:\n    script: static\n    listen: [tls:127.0.0.1:5094]\n    tls: { cert: nope.pem, key: nope.key }\n  e:\n    script: ./good.ts\n    listen: [udp:127.0.0.1:5095]\n',
    );
    const r = await run(['check', 'scripts.yaml'], { cwd: DIR });
    assert.equal(r.code, 1);
    const lines = r.stderr.trim().split('\n');
    assert.equal(
      lines[0],
      `scripts.yaml:6:13: elements.b.script: ${join(DIR, 'bad.mjs')}: request_route is missing or not a function`,
    );
    assert.equal(
      lines[1],
      `scripts.yaml:9:13: elements.c.script: ${join(DIR, 'missing.js')}: no such script file`,
    );
    assert.equal(
      lines[2],
      `scripts.yaml:14:18: elements.d.tls.cert: cannot read ${join(DIR, 'nope.pem')}: no such file`,
    );
    assert.equal(
      lines[3],
      `scripts.yaml:14:33: elements.d.tls.key: cannot read ${join(DIR, 'nope.key')}: no such file`,
    );
    assert.equal(lines[4], `4 problems in scripts.yaml`);
    assert.equal(p, join(DIR, 'scripts.yaml'));
  });

  test('${NAME} references read the environment of the process', async () => {
    file(
      'env.yaml',
      'elements:\n  edge:\n    listen:\n      - udp:127.0.0.1:${FG_SIP_PORT}\n    modules:\n      outbound:\n        flow_token_secret: ${FG_SECRET}\n  registrar: {}\n',
    );
    const ok = await run(['check', 'env.yaml'], {
      cwd: DIR,
      env: { FG_SIP_PORT: '5188', FG_SECRET: 'from-the-environment-0123456789abcdef' },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /edge: script edge, listen udp:127\.0\.0\.1:5188\n/);
    // too short: the variable is named, its value never printed (issue 10 §7)
    const short = await run(['check', 'env.yaml'], {
      cwd: DIR,
      env: { FG_SIP_PORT: '5188', FG_SECRET: 'hunter2-hunter2' },
    });
    assert.equal(short.code, 1);
    assert.equal(
      short.stderr,
      'env.yaml:7:28: elements.edge.modules.outbound.flow_token_secret: expected a secret of at least 32 characters (e.g. openssl rand -hex 32), got a string of 15 characters from ${FG_SECRET}\n1 problem in env.yaml\n',
    );
    const bad = await run(['check', 'env.yaml'], { cwd: DIR, env: { FG_SIP_PORT: '5188' } });
    assert.equal(bad.code, 1);
    assert.equal(
      bad.stderr,
      'env.yaml:7:28: elements.edge.modules.outbound.flow_token_secret: environment variable FG_SECRET is not set: set it, or give a default with ${FG_SECRET:-value}\n1 problem in env.yaml\n',
    );
  });

  test('usage errors: no file, a missing file', async () => {
    assert.equal((await run(['check'])).code, 2);
    const r = await run(['check', 'nope.yaml'], { cwd: DIR });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^nope\.yaml: cannot read the configuration: no such file$/m);
  });
});

describe('flowgate start: edge + registrar, ctl, API, metrics, signals', () => {
  let fg: Running;
  const dataDir = join(DIR, 'data');

  before(async () => {
    const cfg = file(
      'system.yaml',
      [
        'log: { level: debug }',
        `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '  registrar:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '',
      ].join('\n'),
    );
    fg = await Running.start(['-c', cfg, '--data-dir', dataDir]);
    assert.equal(fg.exitCode, undefined, `flowgate exited early:\n${fg.stderr}`);
  });

  after(() => fg?.kill());

  const ctl = (
    ...args: string[]
  ): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, ...args]);

  test('prints where it listens, how to point a phone at it, and the management URL', () => {
    assert.deepEqual([...fg.listeners.keys()], ['registrar', 'edge']);
    for (const l of fg.listeners.get('edge') ?? [])
      assert.match(l, /^(udp|tcp):127\.0\.0\.1:[1-9]\d*$/);
    const tcp = fg.port('edge', 'tcp');
    assert.match(fg.stderr, /^Point a phone at it:$/m);
    assert.match(
      fg.stderr,
      new RegExp(`^ {2}SIP server / registrar / domain: 127\\.0\\.0\\.1:${tcp} `, 'm'),
    );
    assert.match(
      fg.stderr,
      new RegExp(`^ {2}outbound proxy: sip:127\\.0\\.0\\.1:${tcp};transport=tcp;lr`, 'm'),
    );
    assert.match(fg.stderr, /^ {2}transport: UDP 127\.0\.0\.1:\d+, TCP 127\.0\.0\.1:\d+$/m);
    assert.match(fg.managementUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('logs are JSON lines with levels; the edge relays to the registrar it started', () => {
    const logs = fg.logs();
    assert.ok(logs.every((l) => typeof l['level'] === 'number' && typeof l['msg'] === 'string'));
    const edge = logs.find((l) => l['msg'] === 'edge listening');
    assert.equal(edge?.['registrar'], `sip:127.0.0.1:${fg.port('registrar', 'udp')}`);
  });

  test('SIP: OPTIONS over UDP is relayed by the edge to the registrar (404 for an unknown user)', async () => {
    const port = fg.port('edge', 'udp');
    const ua = await UdpClient.open();
    try {
      ua.send(
        `OPTIONS sip:nobody@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-cli1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=c1\r\nTo: <sip:nobody@127.0.0.1>\r\nCall-ID: cli-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        port,
      );
      const reply = (await ua.next()).toString('latin1');
      assert.match(reply, /^SIP\/2\.0 404 /);
    } finally {
      await ua.close();
    }
  });

  let ua: TestUa | undefined;
  after(() => ua?.close());

  test('SIP: an outbound REGISTER over TCP through the edge is stored by the registrar', async () => {
    ua = await TestUa.connect('tcp', '127.0.0.1', fg.port('edge', 'tcp'), { user: 'alice' });
    const r = await ua.register({ regId: 1 });
    assert.equal(r.status, 200);
    assert.equal(r.getHeader('Flow-Timer'), '20');
  });

  test('ctl health / elements', async () => {
    const h = await ctl('health');
    assert.equal(h.code, 0, h.stderr);
    assert.match(h.stdout, /^ok \(up \d+s; elements: edge, registrar\)\n$/);
    const e = await ctl('elements');
    assert.equal(e.code, 0);
    const lines = e.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^ELEMENT +SCRIPT +LISTEN +MODULES$/);
    assert.match(
      lines[1] ?? '',
      /^edge +edge +udp:127\.0\.0\.1:\d+ tcp:127\.0\.0\.1:\d+ +tm,.*outbound,path$/,
    );
    assert.match(
      lines[2] ?? '',
      /^registrar +registrar +udp:127\.0\.0\.1:\d+ tcp:127\.0\.0\.1:\d+ +tm,.*registrar,usrloc$/,
    );
  });

  test('ctl bindings (all, one AoR, --json, paging)', async () => {
    const all = await ctl('bindings');
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^AOR +EXPIRES +CONTACT +PATH +REG-ID +INSTANCE +RUID$/);
    // the Path's flow token is cut to its first six characters (--json has it whole)
    assert.match(
      lines[1] ?? '',
      /^alice +\d+m\d+s +sip:alice@127\.0\.0\.1:\d+;transport=tcp;ob +<sip:[A-Za-z0-9+/=]{6}…@127\.0\.0\.1:\d+;lr;ob> +1 +<urn:uuid:[0-9a-f-]+> +\S+$/,
    );
    const one = await ctl('bindings', 'sip:alice@127.0.0.1', '--json');
    const body = JSON.parse(one.stdout) as {
      bindings: { aor: string; reg_id: number; path: string[] }[];
      next: null;
    };
    assert.equal(body.bindings.length, 1);
    assert.equal(body.bindings[0]?.reg_id, 1);
    assert.match(
      body.bindings[0]?.path[0] ?? '',
      /^<sip:[A-Za-z0-9+/=]{32}@127\.0\.0\.1:\d+;lr;ob>$/,
    );
    const page = await ctl('bindings', '--limit', '1', '--json');
    assert.equal((JSON.parse(page.stdout) as { next: string | null }).next, null);
    const bad = await ctl('bindings', '--limit', 'x');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^flowgate ctl: limit: expected an integer 1\.\.1000/);
  });

  test('ctl flows (transport, local, peer, age, last keep-alive), --transport filter', async () => {
    await ua?.ping();
    const f = await ctl('flows', '--transport', 'tcp');
    assert.equal(f.code, 0, f.stderr);
    const lines = f.stdout.trim().split('\n');
    assert.match(lines[0] ?? '', /^ELEMENT +TRANSPORT +LOCAL +PEER +AGE +KEEPALIVE +STATE +ID$/);
    const peer = `127.0.0.1:${ua?.local.port}`;
    const row = lines.find((l) => l.includes(peer));
    assert.ok(row !== undefined, f.stdout);
    assert.match(row, /^edge +tcp +127\.0\.0\.1:\d+ +127\.0\.0\.1:\d+ +\d+s +\d+s ago +open +\S+$/);
    const udp = await ctl('flows', '--transport', 'udp', '--json');
    const flows = (JSON.parse(udp.stdout) as { flows: { transport: string }[] }).flows;
    assert.ok(flows.every((x) => x.transport === 'udp'));
  });

  test('ctl stats and /metrics counters moved', async () => {
    const s = await ctl('stats');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^edge:$/m);
    assert.match(s.stdout, /^ {2}requests +.*OPTIONS=1/m);
    assert.match(s.stdout, /^ {2}bindings +1$/m);
    const r = await fetch(`${fg.managementUrl}/metrics`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(WAIT_MS),
    });
    const t = await r.text();
    assert.match(t, /^flowgate_requests_total\{element="edge",method="OPTIONS"\} 1$/m);
    assert.match(t, /^flowgate_requests_total\{element="edge",method="REGISTER"\} 1$/m);
    assert.match(t, /^flowgate_requests_total\{element="registrar",method="REGISTER"\} 1$/m);
    assert.match(t, /^flowgate_replies_total\{element="registrar",code="200"\} 1$/m);
    assert.match(t, /^flowgate_bindings\{element="registrar"\} 1$/m);
    assert.match(t, /^flowgate_flows\{element="edge",transport="tcp"\} 1$/m);
    assert.match(t, /^flowgate_keepalives_total\{element="edge",kind="crlf"\} 1$/m);
    assert.match(
      t,
      /^flowgate_store_op_seconds_count\{store="registrar:sqlite",op="apply"\} [1-9]\d*$/m,
    );
    const unauth = await fetch(`${fg.managementUrl}/metrics`, {
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assert.equal(unauth.status, 401);
  });

  test('ctl unbind removes the binding; unknown AoR is an error', async () => {
    const u = await ctl('unbind', 'alice');
    assert.equal(u.code, 0, u.stderr);
    assert.equal(u.stdout, 'removed 1 binding(s)\n');
    const again = await ctl('unbind', 'alice');
    assert.equal(again.code, 1);
    assert.equal(again.stderr, "flowgate ctl: no bindings for 'alice'\n");
    assert.equal((await ctl('bindings')).stdout, 'no bindings\n');
  });

  test('ctl: a wrong token and an unreachable instance are clear errors', async () => {
    const w = await run([
      'ctl',
      '--url',
      fg.managementUrl,
      '--token',
      'wrong-token-xxxxxxxxxx',
      'health',
    ]);
    assert.equal(w.code, 1);
    assert.match(w.stderr, /missing or wrong token/);
    const closed = await freePort('tcp');
    const d = await run(['ctl', '--url', `http://127.0.0.1:${closed}`, 'health']);
    assert.equal(d.code, 1);
    assert.equal(
      d.stderr,
      `flowgate ctl: cannot reach flowgate at http://127.0.0.1:${closed} (ECONNREFUSED): is it running, and is --url right?\n`,
    );
  });

  test('SIGHUP is logged and changes nothing; SIGTERM exits 0 within the bound', async () => {
    fg.proc.kill('SIGHUP');
    await waitFor(() => /SIGHUP/.test(fg.stdout), WAIT_MS, 'the SIGHUP log line');
    assert.equal(fg.exitCode, undefined);
    assert.equal((await ctl('health')).code, 0);
    const t0 = Date.now();
    const code = await fg.stop('SIGTERM', 10_000);
    assert.equal(code, 0, fg.stdout.slice(-2000));
    assert.ok(Date.now() - t0 < 8000, `took ${Date.now() - t0} ms`);
    const msgs = fg.logs().map((l) => l['msg']);
    assert.ok(msgs.includes('stopped'), JSON.stringify(msgs.slice(-5)));
  });
});

describe('flowgate start: the management API needs a token by default (issue 10 §6)', () => {
  const data = join(DIR, 'tok', 'data');
  const cfg = (): string =>
    file(
      'tok.yaml',
      'management: { listen: 127.0.0.1:0 }\nelements:\n  s: { script: static, listen: [udp:127.0.0.1:0] }\n',
    );
  let fg: Running | undefined;
  after(() => fg?.kill());

  test('first start generates data_dir/management.token (0600, data_dir 0700); the banner says where, never what', async () => {
    fg = await Running.start(['-c', cfg(), '--data-dir', data]);
    assert.equal(fg.exitCode, undefined, fg.stderr);
    const tokenFile = join(data, 'management.token');
    const token = readFileSync(tokenFile, 'utf8').trim();
    assert.match(token, /^[0-9a-f]{64}$/);
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    assert.equal(statSync(data).mode & 0o777, 0o700);
    assert.match(
      fg.stderr,
      new RegExp(
        `^management: http://127\\.0\\.0\\.1:\\d+ \\(flowgate ctl --url http://127\\.0\\.0\\.1:\\d+ --data-dir ${data.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} health \\| bindings \\| flows \\| stats\\)$`,
        'm',
      ),
    );
    assert.ok(fg.stderr.includes(`  token: in ${tokenFile} (send Authorization: Bearer <token>`));
    assert.ok(!fg.stderr.includes(token) && !fg.stdout.includes(token), 'the token is not printed');
    // the API: the file's token works, none is refused
    const url = fg.managementUrl;
    const ok = await fetch(`${url}/metrics`, {
      headers: { authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assert.equal(ok.status, 200);
    const none = await fetch(`${url}/v1/stats`, { signal: AbortSignal.timeout(WAIT_MS) });
    assert.equal(none.status, 401);
  });

  test('ctl reads the token from --data-dir; without it, a clear error naming where it looked', async () => {
    const url = (fg as Running).managementUrl;
    const h = await run(['ctl', '--url', url, '--data-dir', data, 'health']);
    assert.equal(h.code, 0, h.stderr);
    // the full answer (elements listed) needs the token
    assert.match(h.stdout, /^ok \(up \d+s; elements: s\)\n$/);
    const s = await run(['ctl', '--url', url, '--data-dir', data, 'stats']);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^s:$/m);
    const no = await run(['ctl', '--url', url, 'stats'], { cwd: join(DIR, 'tok') });
    assert.equal(no.code, 1);
    assert.equal(
      no.stderr,
      `flowgate ctl: missing or wrong token: send Authorization: Bearer <management.token> (no token given and no ${join(DIR, 'tok', '.data', 'management.token')}: pass --data-dir or -c as given to flowgate start, --token, or $FLOWGATE_TOKEN)\n`,
    );
    // --token still wins over the file
    const wrong = await run([
      'ctl',
      '--url',
      url,
      '--data-dir',
      data,
      '--token',
      'x'.repeat(20),
      'stats',
    ]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /missing or wrong token/);
  });

  test('a restart reuses the token; management.token in the file overrides it', async () => {
    const before = readFileSync(join(data, 'management.token'), 'utf8');
    assert.equal(await (fg as Running).stop(), 0);
    fg = await Running.start(['-c', cfg(), '--data-dir', data]);
    assert.equal(fg.exitCode, undefined, fg.stderr);
    assert.equal(readFileSync(join(data, 'management.token'), 'utf8'), before);
    const h = await run(['ctl', '--url', fg.managementUrl, '--data-dir', data, 'stats']);
    assert.equal(h.code, 0, h.stderr);
    assert.equal(await fg.stop(), 0);

    const own = file(
      'tok-own.yaml',
      `management: { listen: 127.0.0.1:0, token: ${TOKEN} }\nelements:\n  s: { script: static, listen: [udp:127.0.0.1:0] }\n`,
    );
    fg = await Running.start(['-c', own, '--data-dir', data]);
    assert.match(
      fg.stderr,
      new RegExp(
        `^  token: management\\.token of ${own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`,
        'm',
      ),
    );
    const withFileToken = await run([
      'ctl',
      '--url',
      fg.managementUrl,
      '--data-dir',
      data,
      'stats',
    ]);
    assert.equal(withFileToken.code, 1, 'the generated token is not the configured one');
    const viaConfig = await run(['ctl', '-c', own, '--url', fg.managementUrl, 'stats']);
    assert.equal(viaConfig.code, 0, viaConfig.stderr);
    assert.equal(await fg.stop(), 0);
  });
});

describe('flowgate start: roles, log file, failures', () => {
  test('--role runs one element; log.file is reopened on SIGHUP (logrotate)', async () => {
    const log = join(DIR, 'logs', 'flowgate.log');
    const cfg = file(
      'roles.yaml',
      `log: { file: logs/flowgate.log }\nmanagement: { listen: false }\nelements:\n  a: { script: static, listen: [udp:127.0.0.1:0] }\n  b: { script: static, listen: [udp:127.0.0.1:0] }\n`,
    );
    const fg = await Running.start(['-c', cfg, '--role', 'b', '--data-dir', join(DIR, 'd2')], {
      waitFor: /^Point a phone at it:$/m,
    });
    try {
      assert.deepEqual([...fg.listeners.keys()], ['b']);
      assert.doesNotMatch(fg.stderr, /^management:/m);
      await waitFor(() => /b listening/.test(readOr(log)), WAIT_MS, 'the log file');
      assert.equal(fg.stdout, '');
      renameSync(log, `${log}.1`);
      fg.proc.kill('SIGHUP');
      await waitFor(
        () => /SIGHUP: log file reopened/.test(readOr(log)),
        WAIT_MS,
        'a new log file after SIGHUP',
      );
      assert.doesNotMatch(readOr(`${log}.1`), /SIGHUP/);
      assert.equal(await fg.stop('SIGINT'), 0);
    } finally {
      fg.kill();
    }
  });

  test('a configuration error stops start with exit 1 and positions', async () => {
    const cfg = file(
      'broken.yaml',
      'elements:\n  edge:\n    listen: [udp:127.0.0.1:5060, tls:127.0.0.1:5061]\n  registrar: {}\n',
    );
    const r = await run(['start', '-c', cfg], { cwd: DIR });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^broken\.yaml:3:34: elements\.edge\.listen\[1\]: a tls listener needs a certificate/m,
    );
    const role = await run(['start', '--role', 'nope', '--data-dir', join(DIR, 'd3')]);
    assert.equal(role.code, 1);
    assert.match(
      role.stderr,
      /--role nope: no such element in <default config> \(there are: edge, registrar\)/,
    );
  });

  test('a port in use: exit 1 naming the element, the listener and its line', async () => {
    const first = await Running.start(
      [
        '-c',
        file(
          'p1.yaml',
          'management: { listen: false }\nelements:\n  s: { script: static, listen: [tcp:127.0.0.1:0] }\n',
        ),
        '--data-dir',
        join(DIR, 'd4'),
      ],
      { waitFor: /^Point a phone at it:$/m },
    );
    try {
      const port = first.port('s', 'tcp');
      const p2 = file(
        'p2.yaml',
        `management: { listen: false }\nelements:\n  s: { script: static, listen: [tcp:127.0.0.1:${port}] }\n`,
      );
      const r = await run(['start', '-c', p2, '--data-dir', join(DIR, 'd5')]);
      assert.equal(r.code, 1);
      assert.equal(
        r.stderr,
        `${p2}:3:33: elements.s.listen[0]: cannot listen on tcp:127.0.0.1:${port}: TCP port ${port} is already in use on 127.0.0.1 (EADDRINUSE); stop the process that holds it (ss -lntup | grep :${port} shows which) or choose another port\nflowgate: not started: 1 problem in ${p2}\n`,
      );
    } finally {
      await first.stop();
      first.kill();
    }
  });
});
