// Issue 13 §1, "how it is proven", the softphone part: baresip (Debian baresip-core) and linphonec
// (Debian linphone-cli) with outbound turned off, over UDP and over TCP, from a network namespace
// behind a NAT made with iptables masquerading (test/interop/nat/lab.ts), register to `flowgate
// start` (the default system, edge + registrar, no authentication) listening in another namespace
// that has no route to the phones: their Contact (10.0.0.2) is really unreachable. flowgate pings
// the UDP ones (the OPTIONS are seen arriving through the NAT), an RFC 5626 outbound softphone
// (baresip with `sipnat=outbound`, beside flowgate) calls each of them, they answer by themselves
// and hang up; then each of them calls it and it hangs up. flowgate runs with a resolver that
// records every DNS question and answers none (test/support/dns-hosts.mjs).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, ensureBuilt, ROOT } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';
import { LAB, type LabProcess, NatLab } from './nat/lab.js';

const has = (cmd: string): boolean =>
  spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root to create network namespaces and a NAT (ip netns, iptables): softphones-behind-NAT test skipped';
  const missing = [
    ['ip', 'iproute2'],
    ['iptables', 'iptables'],
    ['baresip', 'baresip-core'],
  ].filter(([cmd]) => !has(cmd ?? ''));
  if (missing.length > 0)
    return `${missing.map(([c, p]) => `${c} (Debian ${p})`).join(', ')} missing: softphones-behind-NAT test skipped (scripts/test-all.sh installs them)`;
  return false;
}

const LINPHONE = has('linphonec');
const TCPDUMP = has('tcpdump');
/** Seconds between the edge's keep-alive OPTIONS (the default is 25; shorter so the test stays short). */
const NATPING = 4;
/** Seconds without an answer after which a pinged phone is gone (the default is 90). */
const KEEPALIVE_TIMEOUT = 8;

interface BindingRow {
  aor: string;
  contact: string;
  path: string[];
  reg_id: number;
  instance: string | null;
  flow: string | null;
  user_agent: string | null;
}

/** A phone of the test: how it is driven and how its log tells what happened. */
interface Phone {
  readonly user: string;
  readonly kind: 'baresip' | 'linphonec';
  readonly transport: 'udp' | 'tcp';
  proc: LabProcess;
}

/** A 5 s, 8 kHz tone: the audio baresip sends. */
function writeTone(path: string): void {
  const n = 8000 * 5;
  const b = Buffer.alloc(44 + n * 2);
  b.write('RIFF', 0);
  b.writeUInt32LE(36 + n * 2, 4);
  b.write('WAVEfmt ', 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(16000, 28);
  b.writeUInt16LE(2, 32);
  b.writeUInt16LE(16, 34);
  b.write('data', 36);
  b.writeUInt32LE(n * 2, 40);
  for (let i = 0; i < n; i++)
    b.writeInt16LE(Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / 8000)), 44 + i * 2);
  writeFileSync(path, b);
}

/**
 * A baresip profile. `account` is the whole account line. The stdio module reads the test's
 * commands (`/dial`, `/hangup`) from standard input; `-s` prints every SIP message it sends and
 * receives.
 */
function baresipProfile(
  dir: string,
  user: string,
  listen: string,
  iface: string,
  account: string,
  tone: string,
): string {
  const d = join(dir, user);
  mkdirSync(d, { recursive: true });
  writeFileSync(
    join(d, 'config'),
    [
      'poll_method epoll',
      `sip_listen ${listen}:0`,
      `audio_player aufile,${join(dir, `${user}-heard.wav`)}`,
      `audio_source aufile,${tone}`,
      'audio_alert aufile,/dev/null',
      'module_path /usr/lib/baresip/modules',
      'module stdio.so',
      'module uuid.so',
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app contact.so',
      'module_app menu.so',
      `net_interface ${iface}`,
      'rtp_ports 10000-10200',
      '',
    ].join('\n'),
  );
  writeFileSync(join(d, 'accounts'), `${account}\n`);
  return d;
}

/** A linphonec configuration: one proxy (flowgate's edge), UDP or TCP only, no outbound. */
function linphoneRc(dir: string, user: string, transport: 'udp' | 'tcp'): string {
  const home = join(dir, user);
  mkdirSync(join(home, '.local', 'share', 'linphone'), { recursive: true });
  const rc = join(home, 'linphonerc');
  writeFileSync(
    rc,
    [
      '[sip]',
      // -1: a random port; 0: that transport off
      `sip_port=${transport === 'udp' ? -1 : 0}`,
      `sip_tcp_port=${transport === 'tcp' ? -1 : 0}`,
      'sip_tls_port=0',
      'default_proxy=0',
      'register_only_when_network_is_up=0',
      'use_ipv6=0',
      '[rtp]',
      'audio_rtp_port=12000-12100',
      '[proxy_0]',
      `reg_proxy=<sip:${LAB.server}:5060;transport=${transport}>`,
      `reg_identity=sip:${user}@${LAB.server}`,
      'reg_expires=600',
      'reg_sendregister=1',
      'publish=0',
      '',
    ].join('\n'),
  );
  return rc;
}

/** The SIP messages in a baresip `-s` trace or a linphonec debug log, by start line. */
function startLines(text: string): string[] {
  return [
    ...text.matchAll(/^((?:[A-Z]+ sip:\S+ SIP\/2\.0)|(?:SIP\/2\.0 \d{3}[^\r\n]*))\r?$/gm),
  ].map((m) => m[1] ?? '');
}

describe('baresip and linphonec without outbound, over UDP and TCP, behind an iptables NAT: registered, pinged, called, hung up (issue 13 §1)', {
  skip: skipReason(),
  timeout: 120_000,
}, () => {
  const lab = new NatLab();
  let dir: string;
  let data: string;
  let fg: LabProcess;
  let dnsLog: string;
  let capture: LabProcess | undefined;
  let ob: LabProcess;
  const phones: Phone[] = [];

  function ctl(args: string[]): string {
    return execFileSync(
      'ip',
      ['netns', 'exec', lab.serverNs, process.execPath, CLI, 'ctl', ...args, '--data-dir', data],
      { encoding: 'utf8', timeout: 10_000 },
    );
  }

  function bindings(): BindingRow[] {
    return (JSON.parse(ctl(['bindings', '--json'])) as { bindings: BindingRow[] }).bindings;
  }

  before(async () => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-nat-'));
    data = join(dir, 'data');
    dnsLog = join(dir, 'dns.log');
    writeFileSync(dnsLog, '');
    const tone = join(dir, 'tone.wav');
    writeTone(tone);
    lab.up();

    // flowgate: the default system with its edge on the server namespace's address. A non-loopback
    // edge without authentication must be allowed in so many words (issue 10)
    writeFileSync(
      join(dir, 'flowgate.yaml'),
      [
        `data_dir: ${data}`,
        'log: { level: info }',
        'management: { listen: 127.0.0.1:8081 }',
        'elements:',
        '  edge:',
        '    allow_unauthenticated: true',
        `    listen: [udp:${LAB.server}:5060, tcp:${LAB.server}:5060]`,
        '    modules:',
        `      nathelper: { natping_interval: ${NATPING}, keepalive_timeout: ${KEEPALIVE_TIMEOUT} }`,
        '  registrar: {}',
        '',
      ].join('\n'),
    );
    fg = lab.spawn(
      'flowgate',
      lab.serverNs,
      process.execPath,
      [
        '--import',
        join(ROOT, 'test', 'support', 'dns-hosts.mjs'),
        CLI,
        'start',
        '-c',
        join(dir, 'flowgate.yaml'),
      ],
      join(dir, 'flowgate.log'),
      { FLOWGATE_TEST_HOSTS: '{}', FLOWGATE_TEST_DNS_LOG: dnsLog },
    );
    await waitFor(() => /management: http/.test(fg.text) || fg.exited, 20_000, 'flowgate to start');
    assert.ok(!fg.exited, `flowgate exited:\n${fg.text}`);

    // what reaches the phones' side of the NAT from flowgate (the pings among it)
    if (TCPDUMP)
      capture = lab.spawn(
        'tcpdump',
        lab.phoneNs,
        'tcpdump',
        [
          '-l',
          '-n',
          '-i',
          lab.links.phone,
          '-A',
          '-s',
          '0',
          'udp',
          'and',
          'src',
          'host',
          LAB.server,
        ],
        join(dir, 'tcpdump.log'),
      );

    // the outbound softphone beside flowgate (RFC 5626: reg-id, +sip.instance, over TCP)
    ob = lab.spawn(
      'ob',
      lab.serverNs,
      'stdbuf',
      [
        '-oL',
        'baresip',
        '-s',
        '-f',
        baresipProfile(
          dir,
          'ob',
          LAB.server,
          lab.links.server,
          `<sip:ob@${LAB.server};transport=tcp>;outbound="sip:${LAB.server}:5060;transport=tcp";sipnat=outbound;regint=600;answermode=auto`,
          tone,
        ),
      ],
      join(dir, 'ob.log'),
    );

    // the phones behind the NAT, outbound turned off (no outbound=, no sipnat=outbound)
    for (const transport of ['udp', 'tcp'] as const) {
      const user = `baresip-${transport}`;
      phones.push({
        user,
        kind: 'baresip',
        transport,
        proc: lab.spawn(
          user,
          lab.phoneNs,
          'stdbuf',
          [
            '-oL',
            'baresip',
            '-s',
            '-f',
            baresipProfile(
              dir,
              user,
              LAB.phone,
              lab.links.phone,
              `<sip:${user}@${LAB.server};transport=${transport}>;regint=600;answermode=auto`,
              tone,
            ),
          ],
          join(dir, `${user}.log`),
        ),
      });
    }
    if (LINPHONE)
      for (const transport of ['udp', 'tcp'] as const) {
        const user = `linphone-${transport}`;
        const rc = linphoneRc(dir, user, transport);
        phones.push({
          user,
          kind: 'linphonec',
          transport,
          proc: lab.spawn(
            user,
            lab.phoneNs,
            'linphonec',
            ['-c', rc, '-a', '-d', '6', '-l', join(dir, `${user}.sip.log`)],
            join(dir, `${user}.log`),
            { HOME: join(dir, user) },
          ),
        });
      }
  });

  after(() => {
    for (const p of phones) if (p.kind === 'linphonec') p.proc.type('quit');
    lab.destroy();
    assert.deepEqual(lab.leftovers(), [], 'the namespaces are gone');
    if (dir !== undefined && process.env['FLOWGATE_KEEP_TEST_DIR'] !== '1')
      rmSync(dir, { recursive: true, force: true });
  });

  /** The phone's own record of the SIP messages it sent and received. */
  function sipText(p: Phone): string {
    return p.kind === 'baresip' ? p.proc.text : readText(join(dir, `${p.user}.sip.log`));
  }

  test("the NAT is real: no route from flowgate to 10.0.0.2; the phones register without outbound (no reg-id); each is bound with the edge's flow token", async (t) => {
    t.diagnostic(`NAT rules: ${lab.natRules().trim().split('\n').join(' | ')}`);
    const route = lab.routeGet(lab.serverNs, LAB.phone);
    t.diagnostic(`ip route get ${LAB.phone} in flowgate's namespace: ${route.text}`);
    assert.equal(route.ok, false, 'the phones are unreachable from flowgate');
    if (!LINPHONE)
      t.diagnostic('linphonec (Debian linphone-cli) is not installed: only baresip runs');
    // each phone's own trace shows its REGISTER answered 200 (polled without blocking, so the
    // phones' output is read meanwhile; `ctl` below runs synchronously)
    await waitFor(
      () =>
        phones.every((p) => {
          const lines = startLines(sipText(p));
          return lines.some((l) => l.startsWith('REGISTER ')) && lines.includes('SIP/2.0 200 OK');
        }),
      20_000,
      'every phone to see its REGISTER answered',
    );
    const users = ['ob', ...phones.map((p) => p.user)];
    let rows: BindingRow[] = [];
    await waitFor(
      () => {
        rows = bindings();
        return users.every((u) => rows.some((b) => b.aor === u));
      },
      20_000,
      `${users.join(', ')} to register`,
    );
    for (const p of phones) {
      const b = rows.find((x) => x.aor === p.user);
      assert.ok(b);
      t.diagnostic(
        `${p.user} (${b.user_agent}): contact ${b.contact}, reg-id ${b.reg_id}, instance ${b.instance ?? '-'}, path ${b.path.join(',')}, flow ${b.flow}`,
      );
      assert.match(
        b.contact,
        new RegExp(`@${LAB.phone.replace(/\./g, '\\.')}:\\d+`),
        'its private Contact',
      );
      assert.equal(b.reg_id, 0, 'no outbound');
      assert.match(
        b.path[0] ?? '',
        new RegExp(`^<sip:[^@;]+@${LAB.server.replace(/\./g, '\\.')};lr;ob>$`),
        'the edge pinned its flow with a token',
      );
      const reg = startLines(sipText(p)).filter((l) => l.startsWith('REGISTER'));
      assert.ok(reg.length > 0, `${p.user}'s REGISTER is in its own trace`);
      assert.doesNotMatch(sipText(p), /reg-id=/, `${p.user} sends no reg-id`);
    }
    const o = rows.find((x) => x.aor === 'ob');
    assert.ok(o);
    assert.equal(o.reg_id, 1, 'ob registers with RFC 5626 outbound');
    t.diagnostic(
      `ob (${o.user_agent}): contact ${o.contact}, reg-id ${o.reg_id}, path ${o.path.join(',')}`,
    );
  });

  test('flowgate pings the UDP phones: OPTIONS from 192.0.2.2 arrive at 10.0.0.2 through the NAT and are answered; the TCP phones are not pinged', async (t) => {
    const udp = phones.filter((p) => p.transport === 'udp');
    // each UDP phone's own trace shows an OPTIONS addressed to its NAT address (192.0.2.1:port)
    await waitFor(
      () => udp.every((p) => /^OPTIONS sip:192\.0\.2\.1:\d+ SIP\/2\.0/m.test(sipText(p))),
      (NATPING + 6) * 1000,
      'an OPTIONS ping at each UDP phone',
    );
    for (const p of udp) {
      const pings = startLines(sipText(p)).filter((l) => l.startsWith('OPTIONS '));
      t.diagnostic(`${p.user}: ${pings.length} OPTIONS received, e.g. "${pings[0]}"`);
    }
    for (const p of phones.filter((x) => x.transport === 'tcp'))
      assert.doesNotMatch(sipText(p), /^OPTIONS sip:/m, `${p.user} (TCP) is not pinged`);
    if (capture !== undefined) {
      // the packets as they leave the NAT towards the phones: from flowgate's address, to the
      // private one, addressed (Request-URI) to the NAT's public side
      const cap = capture;
      const pings = (): RegExpExecArray[] => [
        ...cap.text.matchAll(
          /IP 192\.0\.2\.2\.5060 > 10\.0\.0\.2\.(\d+): SIP: (OPTIONS sip:192\.0\.2\.1:(\d+) SIP\/2\.0)/g,
        ),
      ];
      const ports = (): Set<string> => new Set(pings().map((m) => m[1] ?? ''));
      await waitFor(() => ports().size >= udp.length, 5000, 'tcpdump to show the pings');
      const seen = pings();
      t.diagnostic(
        `tcpdump on the phones' side of the NAT: ${seen.length} OPTIONS from 192.0.2.2:5060 to ${[...ports()].map((x) => `10.0.0.2:${x}`).join(', ')}, e.g. "${seen[0]?.[2]}"`,
      );
      for (const m of seen)
        assert.equal(m[1], m[3], 'the NAT kept the port: only the address was rewritten');
    }
  });

  for (const [i, label] of [
    [0, 'baresip over UDP'],
    [1, 'baresip over TCP'],
    [2, 'linphonec over UDP'],
    [3, 'linphonec over TCP'],
  ] as const) {
    test(`${label}: ob (outbound) calls it, it answers by itself and hangs up; it calls ob, ob answers and hangs up`, {
      skip: i >= 2 && !LINPHONE ? 'linphonec (Debian linphone-cli) is not installed' : false,
    }, async (t) => {
      const p = phones[i];
      assert.ok(p);
      // 1. called: the INVITE crosses the edge to the phone's NAT binding
      let mOb = ob.text.length;
      let mP = p.proc.text.length;
      let mSip = sipText(p).length;
      const t0 = Date.now();
      ob.type(`/dial sip:${p.user}@${LAB.server}`);
      await waitFor(
        () => /Call established/.test(ob.text.slice(mOb)),
        15_000,
        `ob's call to ${p.user} to be established`,
      );
      await waitFor(() => established(p, mP), 5000, `${p.user} to see the call established`);
      const inv = startLines(sipText(p).slice(mSip)).find((l) => l.startsWith('INVITE '));
      t.diagnostic(
        `ob -> ${p.user}: established in ${Date.now() - t0} ms; ${p.user} received "${inv}"`,
      );
      assert.match(
        inv ?? '',
        /^INVITE sip:[^@]+@10\.0\.0\.2:\d+/,
        'sent to its Contact, over its NAT binding',
      );
      // the phone hangs up: its BYE goes out through the NAT and the edge
      mOb = ob.text.length;
      mP = p.proc.text.length;
      hangup(p);
      await waitFor(
        () => BARESIP_ENDED.test(ob.text.slice(mOb)),
        10_000,
        `ob to see ${p.user}'s hang-up`,
      );
      await waitFor(() => ended(p, mP), 5000, `${p.user}'s call to end`);
      const byeAtOb = startLines(ob.text.slice(mOb)).find((l) => l.startsWith('BYE '));
      assert.ok(byeAtOb, `ob received ${p.user}'s BYE`);
      // (baresip words a BYE it receives as "session closed: Connection reset by peer")
      t.diagnostic(
        `${p.user} hung up; ob received "${byeAtOb}" and says "${lastMatch(ob.text.slice(mOb), /[^\n]*session closed[^\n]*/).trim()}"`,
      );

      // 2. calling: the phone calls ob; ob answers by itself and hangs up (its BYE reaches the
      // phone through the edge's Record-Route and the NAT)
      mOb = ob.text.length;
      mP = p.proc.text.length;
      mSip = sipText(p).length;
      dial(p, `sip:ob@${LAB.server}`);
      await waitFor(
        () => /Call established/.test(ob.text.slice(mOb)),
        15_000,
        `${p.user}'s call to ob to be established`,
      );
      await waitFor(() => established(p, mP), 5000, `${p.user} to see its call established`);
      t.diagnostic(`${p.user} -> ob: established`);
      mOb = ob.text.length;
      mP = p.proc.text.length;
      const mSip2 = sipText(p).length;
      ob.type('/hangup');
      await waitFor(() => ended(p, mP), 10_000, `${p.user} to see ob's hang-up`);
      const bye = startLines(sipText(p).slice(mSip2)).find((l) => l.startsWith('BYE '));
      t.diagnostic(`ob hung up; ${p.user} received "${bye}"`);
      assert.ok(bye, `${p.user} received ob's BYE`);
      assert.ok(mSip <= mSip2);
    });
  }

  test('a phone that vanishes without unregistering is gone: baresip over TCP (its connection closes) and over UDP (silent to the pings) get 480 at once, no 30 s fr_timer', async (t) => {
    const byUser = (u: string): Phone => {
      const p = phones.find((x) => x.user === u);
      assert.ok(p);
      return p;
    };
    const tcp = byUser('baresip-tcp');
    const udp = byUser('baresip-udp');
    // both are killed (a power cut): no un-REGISTER, the bindings stay
    const killedAt = Date.now();
    tcp.proc.proc.kill('SIGKILL');
    udp.proc.proc.kill('SIGKILL');
    await waitFor(() => tcp.proc.exited && udp.proc.exited, 5000, 'the phones to die');
    assert.ok(
      bindings().some((b) => b.aor === 'baresip-udp'),
      'still bound',
    );
    const callFails = async (p: Phone): Promise<{ ms: number; line: string }> => {
      const mark = ob.text.length;
      const t0 = Date.now();
      ob.type(`/dial sip:${p.user}@${LAB.server}`);
      const failed = /: session closed: [^\n]*|Call established/;
      await waitFor(
        () => failed.test(ob.text.slice(mark)),
        15_000,
        `ob's call to ${p.user} to end`,
      );
      return { ms: Date.now() - t0, line: failed.exec(ob.text.slice(mark))?.[0] ?? '' };
    };
    const r1 = await callFails(tcp);
    t.diagnostic(
      `ob -> baresip-tcp (connection closed by the kill): "${r1.line.trim()}" after ${r1.ms} ms`,
    );
    assert.match(r1.line, /session closed: 480/);
    assert.ok(r1.ms < 3000, 'at once');
    // the UDP one: flowgate cannot know before its pings go unanswered for keepalive_timeout
    await new Promise((r) =>
      setTimeout(
        r,
        Math.max(0, (KEEPALIVE_TIMEOUT + NATPING + 1) * 1000 - (Date.now() - killedAt)),
      ),
    );
    const pingsAfter = capture?.text.split(`SIP: OPTIONS sip:192.0.2.1:`).length;
    const r2 = await callFails(udp);
    t.diagnostic(
      `ob -> baresip-udp (silent since the kill ${Math.round((Date.now() - killedAt) / 1000)} s ago): "${r2.line.trim()}" after ${r2.ms} ms${pingsAfter === undefined ? '' : `; OPTIONS seen at the NAT so far: ${pingsAfter - 1}`}`,
    );
    assert.match(r2.line, /session closed: 480/);
    assert.ok(r2.ms < 3000, 'at once');
    // flowgate's own account: the edge's 430 (flow failed), the registrar's 480 (issue 13 §1)
    for (const u of ['baresip-tcp', 'baresip-udp']) {
      const line = fg.text
        .split('\n')
        .find((l) => l.includes(`"${u}`) && l.includes('"status":430'));
      if (line !== undefined)
        t.diagnostic(`flowgate: ${(/"msg":"([^"]*)"/.exec(line)?.[1] ?? line).slice(0, 160)}`);
    }
  });

  test('flowgate asked no DNS question (no name of a phone, no .invalid) and answered no 478', (t) => {
    const questions = readText(dnsLog).split('\n').filter(Boolean);
    t.diagnostic(`DNS questions: ${questions.length === 0 ? 'none' : questions.join('; ')}`);
    assert.deepEqual(questions, []);
    for (const p of [...phones.map((x) => x.proc), ob])
      assert.doesNotMatch(p.text, /SIP\/2\.0 478/, `${p.name} got no 478`);
  });
});

/** baresip's line when a call ends: `terminate call` (it hangs up), `session closed` (the peer did). */
const BARESIP_ENDED = /Call with .* terminated|: session closed: |call: terminate call /;

function established(p: Phone, from: number): boolean {
  const s = p.proc.text.slice(from);
  return p.kind === 'baresip' ? /Call established/.test(s) : /Call \d+ with .* connected/.test(s);
}

function ended(p: Phone, from: number): boolean {
  const s = p.proc.text.slice(from);
  return p.kind === 'baresip' ? BARESIP_ENDED.test(s) : /Call \d+ with .* ended/.test(s);
}

function hangup(p: Phone): void {
  p.proc.type(p.kind === 'baresip' ? '/hangup' : 'terminate');
}

function dial(p: Phone, uri: string): void {
  p.proc.type(p.kind === 'baresip' ? `/dial ${uri}` : `call ${uri}`);
}

function lastMatch(s: string, re: RegExp): string {
  return re.exec(s)?.[0] ?? '(not found)';
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
