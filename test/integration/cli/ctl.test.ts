// flowgate ctl against a started instance (edge + registrar, the built CLI): --element and
// --transport validated and applied to every command that takes them, loglevel at run time (per
// element, seen in the log), close-flow (the phone sees its connection end), the PATH column.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { UdpClient, WAIT_MS, waitFor } from '../../support/net.js';
import { TestUa } from '../../support/ua.js';
import { ensureBuilt, Running, run } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-ctl-'));
const TOKEN = 'ctl-test-token-0123456789';

describe('flowgate ctl: --element, --transport, loglevel, close-flow, PATH', () => {
  let fg: Running;
  let ua: TestUa | undefined;

  before(async () => {
    ensureBuilt();
    const cfg = join(DIR, 'ctl.yaml');
    writeFileSync(
      cfg,
      [
        'log: { level: info }',
        `management: { listen: 127.0.0.1:0, token: ${TOKEN} }`,
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '  registrar:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '',
      ].join('\n'),
    );
    fg = await Running.start(['-c', cfg, '--data-dir', join(DIR, 'data')]);
    assert.equal(fg.exitCode, undefined, `flowgate exited early:\n${fg.stderr}`);
    ua = await TestUa.connect('tcp', '127.0.0.1', fg.port('edge', 'tcp'), { user: 'alice' });
    assert.equal((await ua.register({ regId: 1 })).status, 200);
  });

  after(async () => {
    ua?.close();
    await fg?.stop().catch(() => fg.kill());
    fg?.kill();
    rmSync(DIR, { recursive: true, force: true });
  });

  const ctl = (...args: string[]) =>
    run(['ctl', '--url', fg.managementUrl, '--token', TOKEN, ...args]);

  test('--element NAME that does not exist: exit 1 naming the elements, for every command that takes it', async () => {
    const cmds: string[][] = [
      ['elements'],
      ['bindings'],
      ['unbind', 'alice'],
      ['flows'],
      ['close-flow', 'w0/c1'],
      ['stats'],
      ['loglevel'],
      ['loglevel', 'debug'],
    ];
    for (const c of cmds) {
      const r = await ctl(...c, '--element', 'nope');
      assert.equal(r.code, 1, `${c.join(' ')}: ${r.stdout}`);
      assert.equal(
        r.stderr,
        "flowgate ctl: no element 'nope' (there are: edge, registrar)\n",
        c.join(' '),
      );
    }
  });

  test('--element applies: stats, elements and flows show only that element', async () => {
    const s = await ctl('stats', '--element', 'registrar');
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^registrar:$/m);
    assert.doesNotMatch(s.stdout, /^edge:$/m);
    const sj = JSON.parse((await ctl('stats', '--element', 'edge', '--json')).stdout) as {
      elements: Record<string, unknown>;
    };
    assert.deepEqual(Object.keys(sj.elements), ['edge']);
    const e = await ctl('elements', '--element', 'edge');
    assert.equal(e.code, 0, e.stderr);
    const rows = e.stdout.trim().split('\n');
    assert.equal(rows.length, 2, e.stdout);
    assert.match(rows[1] ?? '', /^edge +edge +/);
    // alice's connection is the edge's: the registrar lists none of it
    const peer = `127.0.0.1:${ua?.local.port}`;
    const onEdge = await ctl('flows', '--element', 'edge', '--transport', 'tcp');
    assert.ok(onEdge.stdout.includes(peer), onEdge.stdout);
    const onReg = await ctl('flows', '--element', 'registrar', '--transport', 'tcp');
    assert.equal(onReg.code, 0, onReg.stderr);
    assert.ok(!onReg.stdout.includes(peer), onReg.stdout);
    // bindings live in the registrar's store; the edge has none
    const b = await ctl('bindings', '--element', 'edge');
    assert.equal(b.code, 1);
    assert.match(b.stderr, /element 'edge' has no location store/);
  });

  test('bindings: the PATH column shows the edge Path with its flow token cut; --json has it whole', async () => {
    const t = await ctl('bindings');
    assert.equal(t.code, 0, t.stderr);
    const [head, row] = t.stdout.trim().split('\n');
    assert.match(head ?? '', /^AOR +EXPIRES +CONTACT +PATH +REG-ID +INSTANCE +RUID$/);
    const j = JSON.parse((await ctl('bindings', '--json')).stdout) as {
      bindings: { path: string[] }[];
    };
    const full = j.bindings[0]?.path[0] ?? '';
    const m = /^<sip:([A-Za-z0-9+/=]{32})@(127\.0\.0\.1:\d+;lr;ob)>$/.exec(full);
    assert.ok(m !== null, full);
    const shown = `<sip:${m[1]?.slice(0, 6)}…@${m[2]}>`;
    assert.ok(row?.includes(` ${shown} `), `${row}\nexpected ${shown}`);
    assert.ok(!row?.includes(m[1] ?? ''), 'the table does not print the whole token');
  });

  test('loglevel: per element at run time, seen in the log; back for the whole process', async () => {
    const before = await ctl('loglevel');
    assert.equal(before.code, 0, before.stderr);
    assert.equal(
      before.stdout,
      'process: info\nELEMENT    LEVEL\nedge       info\nregistrar  info\n',
    );
    const set = await ctl('loglevel', 'debug', '--element', 'edge');
    assert.equal(set.code, 0, set.stderr);
    assert.equal(set.stdout, 'process: info\nELEMENT  LEVEL\nedge     debug\n');
    assert.deepEqual(JSON.parse((await ctl('loglevel', '--json')).stdout), {
      level: 'info',
      elements: { edge: 'debug', registrar: 'info' },
    });
    // a CRLF datagram is dropped with a debug line: to the registrar first (its counter says when
    // it was handled), then to the edge. stdout is one pipe: once the edge's line is there, a
    // registrar line written before it would be too.
    const probe = await UdpClient.open();
    try {
      probe.send('\r\n\r\n', fg.port('registrar', 'udp'));
      const dropped = async (): Promise<number> => {
        const s = JSON.parse((await ctl('stats', '--element', 'registrar', '--json')).stdout) as {
          elements: { registrar: { transport: { drops: { crlf: number } } } };
        };
        return s.elements.registrar.transport.drops.crlf;
      };
      const t0 = Date.now();
      while ((await dropped()) < 1) {
        assert.ok(Date.now() - t0 < WAIT_MS, 'the registrar did not count the CRLF datagram');
        await new Promise((r) => setTimeout(r, 50));
      }
      probe.send('\r\n\r\n', fg.port('edge', 'udp'));
      const crlfLine = (element: string) =>
        fg
          .logs()
          .find(
            (l) =>
              l['element'] === element && l['msg'] === 'transport: UDP CRLF/blank datagram ignored',
          );
      await waitFor(() => crlfLine('edge') !== undefined, WAIT_MS, "the edge's debug line");
      assert.equal(crlfLine('edge')?.['level'], 20);
      assert.equal(crlfLine('registrar'), undefined, 'the registrar stays at info');
    } finally {
      await probe.close();
    }
    const changed = fg
      .logs()
      .find((l) => l['msg'] === 'log level changed through the management API');
    assert.equal(changed?.['log_level'], 'debug');
    assert.equal(changed?.['element'], 'edge');
    const all = await ctl('loglevel', 'info');
    assert.equal(all.code, 0, all.stderr);
    assert.equal(all.stdout, 'process: info\nELEMENT    LEVEL\nedge       info\nregistrar  info\n');
  });

  test('close-flow: the connection ends (the phone sees it); again: exit 1; a UDP flow: exit 1, why', async () => {
    const phone = ua as TestUa;
    const peer = `127.0.0.1:${phone.local.port}`;
    const flows = JSON.parse((await ctl('flows', '--transport', 'tcp', '--json')).stdout) as {
      flows: { id: string; peer: string; element: string }[];
    };
    const f = flows.flows.find((x) => x.peer === peer);
    assert.ok(f !== undefined, JSON.stringify(flows));
    const r = await ctl('close-flow', f.id);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `^closed flow ${f.id.replace(/[./]/g, '\\$&')} \\(edge, tcp from ${peer} to 127\\.0\\.0\\.1:${fg.port('edge', 'tcp')}\\)\\n$`,
      ),
    );
    await waitFor(() => phone.closed, WAIT_MS, 'the phone to see its connection closed');
    const again = await ctl('close-flow', f.id);
    assert.equal(again.code, 1);
    assert.equal(
      again.stderr,
      `flowgate ctl: no open flow '${f.id}' (flowgate ctl flows lists them)\n`,
    );
    // a UDP flow has no connection
    const u = await UdpClient.open();
    try {
      const port = fg.port('edge', 'udp');
      u.send(
        `OPTIONS sip:nobody@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${u.port};branch=z9hG4bK-ctl1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=c1\r\nTo: <sip:nobody@127.0.0.1>\r\nCall-ID: ctl-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        port,
      );
      await u.next();
      const udp = JSON.parse(
        (await ctl('flows', '--transport', 'udp', '--element', 'edge', '--json')).stdout,
      ) as { flows: { id: string; peer: string }[] };
      const uf = udp.flows.find((x) => x.peer === `127.0.0.1:${u.port}`);
      assert.ok(uf !== undefined, JSON.stringify(udp));
      const c = await ctl('close-flow', uf.id);
      assert.equal(c.code, 1);
      assert.match(
        c.stderr,
        /^flowgate ctl: flow \S+ is a UDP flow: there is no connection to close/,
      );
    } finally {
      await u.close();
    }
  });
});
