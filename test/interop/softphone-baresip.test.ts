// Issue 6 §1: `flowgate start` (the embedded default: edge + registrar) with two real softphones
// (baresip, Debian `baresip-core`) that register with RFC 5626 outbound over TCP and call each
// other. Everything runs inside a network namespace that has only loopback, so no SIP or RTP
// packet can leave 127.0.0.0/8 (baresip would otherwise gather every interface).
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CLI, ensureBuilt } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';

function skipReason(): string | false {
  if (process.getuid?.() !== 0)
    return 'needs root to create a network namespace (ip netns): softphone test skipped';
  if (
    spawnSync('sh', ['-c', 'command -v ip && command -v baresip'], { encoding: 'utf8' }).status !==
    0
  ) {
    return 'baresip (Debian baresip-core) or iproute2 missing: softphone test skipped (scripts/test-all.sh installs them)';
  }
  return false;
}

const NS = `flowgate-sp-${process.pid}`;
const procs: ChildProcess[] = [];

function inNs(cmd: string, args: string[], log: string): ChildProcess {
  const p = spawn('ip', ['netns', 'exec', NS, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out += d.toString();
    try {
      writeFileSync(log, out);
    } catch {
      // the test directory is gone (cleanup): nothing left to record
    }
  };
  p.stdout?.on('data', keep);
  p.stderr?.on('data', keep);
  procs.push(p);
  return p;
}

function ctl(args: string[]): string {
  return execFileSync('ip', ['netns', 'exec', NS, process.execPath, CLI, 'ctl', ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  });
}

/** A 5 s, 8 kHz tone: baresip plays it as the call's audio, then hangs up at its end. */
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

/** A baresip profile: outbound over TCP via the edge (`sipnat=outbound`: reg-id + +sip.instance), auto answer. */
function profile(dir: string, user: string, tone: string): string {
  const d = join(dir, user);
  mkdirSync(d, { recursive: true });
  writeFileSync(
    join(d, 'config'),
    [
      'poll_method epoll',
      'sip_listen 127.0.0.1:0',
      `audio_player aufile,${join(dir, `${user}-heard.wav`)}`,
      `audio_source aufile,${tone}`,
      'audio_alert aufile,/dev/null',
      'module_path /usr/lib/baresip/modules',
      'module uuid.so',
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app contact.so',
      'module_app menu.so',
      'net_interface 127.0.0.1',
      'rtp_ports 10000-10200',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(d, 'accounts'),
    `<sip:${user}@example.com;transport=tcp>;outbound="sip:127.0.0.1:5060;transport=tcp";sipnat=outbound;regint=300;answermode=auto;auth_pass=none\n`,
  );
  return d;
}

describe('two real softphones (baresip) register to `flowgate start` and call each other (issue 6 §1)', {
  skip: skipReason(),
  timeout: 90_000,
}, () => {
  let dir: string;

  before(() => {
    ensureBuilt();
    dir = mkdtempSync(join(tmpdir(), 'flowgate-softphone-'));
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['netns', 'exec', NS, 'ip', 'link', 'set', 'lo', 'up']);
  });

  after(() => {
    for (const p of procs) {
      p.stdout?.removeAllListeners('data');
      p.stderr?.removeAllListeners('data');
      p.kill('SIGKILL');
    }
    spawnSync('ip', ['netns', 'del', NS]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('bob and alice register with outbound (reg-id, +sip.instance); alice calls bob; audio flows both ways; the call ends cleanly', async () => {
    const tone = join(dir, 'tone.wav');
    writeTone(tone);
    const fgLog = join(dir, 'flowgate.log');
    inNs(process.execPath, [CLI, 'start', '--data-dir', join(dir, 'data')], fgLog);
    await waitFor(() => /management: http/.test(readText(fgLog)), 20_000, 'flowgate to start');

    const bobLog = join(dir, 'bob.log');
    inNs('baresip', ['-f', profile(dir, 'bob', tone), '-t', '40'], bobLog);
    await waitFor(() => /200 OK/.test(readText(bobLog)), 15_000, 'bob to register');

    const aliceLog = join(dir, 'alice.log');
    inNs(
      'baresip',
      ['-f', profile(dir, 'alice', tone), '-t', '30', '-e', '/dial sip:bob@example.com'],
      aliceLog,
    );
    await waitFor(
      () => /Call established/.test(readText(aliceLog)),
      20_000,
      'the call to be established',
    );

    // both are bound through the edge, with RFC 5626 outbound
    // the management token flowgate start generated in its data directory (issue 10 §6)
    const bindings = JSON.parse(ctl(['bindings', '--json', '--data-dir', join(dir, 'data')])) as {
      bindings: { aor: string; reg_id: number; instance: string | null; path: string[] }[];
    };
    for (const aor of ['alice', 'bob']) {
      const b = bindings.bindings.find((x) => x.aor === aor);
      assert.ok(b, `${aor} is registered: ${JSON.stringify(bindings)}`);
      assert.equal(b.reg_id, 1);
      assert.match(b.instance ?? '', /^<urn:uuid:/);
      assert.match(b.path[0] ?? '', /;lr;ob>$/, 'registered through the edge, with a flow token');
    }
    // RTP flowed (baresip reports the rate), then bob's audio file ends and he hangs up: the BYE crosses flowgate
    await waitFor(
      () =>
        /audio=[1-9]\d*\/[1-9]\d*/.test(readText(bobLog)) && /terminated/.test(readText(aliceLog)),
      30_000,
      'audio and the hang-up',
    );
    assert.match(readText(bobLog), /answering call .* from sip:alice@example\.com/);
    assert.match(
      readText(aliceLog),
      /Call with sip:bob@example\.com.* terminated \(duration: \d+ secs\)/,
    );
  });
});

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}
