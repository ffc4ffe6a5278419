// Issue 6 §1, issue 11: two real softphones (baresip, Debian `baresip-core`) register with RFC 5626
// outbound over TCP through the edge and call each other, in each form of the seed pair: `flowgate
// start` (the embedded default: the built-in scripts), the Kamailio test peer's edge.cfg and
// registrar.cfg run by `flowgate start -c`, and Kamailio running the same files. Everything runs
// inside a network namespace that has only loopback, so no SIP or RTP packet can leave 127.0.0.0/8
// (baresip would otherwise gather every interface).
// Not a test file: the runner is softphone-baresip.test.ts.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { waitFor } from '../support/net.js';
import { FORM_TITLE, type Form } from '../support/seed-forms.js';

/** Why the softphone test cannot run here, or false. */
export function softphoneSkip(): string | false {
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

/** Runs a command inside the namespace, its output kept in `log`. */
export type InNs = (
  cmd: string,
  args: string[],
  log: string,
  env?: NodeJS.ProcessEnv,
) => ChildProcess;

/** What a form starts inside the namespace, before the phones. */
export interface PhoneServers {
  /** Where REGISTER queries reach the registrar (to list the phones' bindings). */
  readonly registrar: { readonly ip: string; readonly port: number };
  /**
   * Each phone registers a second flow (`outbound2`): the seed registrar on Kamailio answers a call
   * to a user with ONE contact 500 (decision Q-R7).
   */
  readonly twoFlows: boolean;
  /** flowgate's own view of the bindings (`flowgate ctl bindings`), where the form has it. */
  bindings?(): { aor: string; reg_id: number; instance: string | null; path: string[] }[];
  stop(): Promise<void>;
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

/**
 * A baresip profile: outbound over TCP via the edge (`sipnat=outbound`: reg-id + +sip.instance),
 * auto answer; with `twoFlows` a second flow over UDP (`outbound2`, reg-id 2).
 */
function profile(dir: string, user: string, tone: string, twoFlows: boolean): string {
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
  const second = twoFlows ? ';outbound2="sip:127.0.0.1:5060;transport=udp"' : '';
  writeFileSync(
    join(d, 'accounts'),
    `<sip:${user}@example.com;transport=tcp>;outbound="sip:127.0.0.1:5060;transport=tcp"${second};sipnat=outbound;regint=300;answermode=auto;auth_pass=none\n`,
  );
  return d;
}

function readText(p: string): string {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
}

/**
 * A REGISTER query (no Contact) sent from inside the namespace straight to the registrar: the
 * Contact values of its 200, the bindings as the registrar lists them (RFC 3261 §10.3 step 8).
 */
function listedBindings(
  ns: string,
  registrar: { ip: string; port: number },
  user: string,
): string[] {
  const script = `const d=require('node:dgram').createSocket('udp4');d.bind(0,'127.0.0.1',()=>{const p=d.address().port;const t=Date.now();d.on('message',(b)=>{process.stdout.write(b.toString('latin1'));process.exit(0)});d.send('REGISTER sip:example.com SIP/2.0\\r\\nVia: SIP/2.0/UDP 127.0.0.1:'+p+';branch=z9hG4bK-q'+t+';rport\\r\\nMax-Forwards: 70\\r\\nFrom: <sip:${user}@example.com>;tag=q'+t+'\\r\\nTo: <sip:${user}@example.com>\\r\\nCall-ID: q'+t+'@query\\r\\nCSeq: 1 REGISTER\\r\\nContent-Length: 0\\r\\n\\r\\n',${registrar.port},'${registrar.ip}');setTimeout(()=>process.exit(2),5000)})`;
  const reply = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], {
    encoding: 'latin1',
    timeout: 10_000,
  });
  assert.match(reply, /^SIP\/2\.0 200 /, reply);
  const head = reply.slice(0, reply.indexOf('\r\n\r\n'));
  return head
    .split('\r\n')
    .filter((l) => /^(Contact|m)\s*:/i.test(l))
    .flatMap((l) => l.slice(l.indexOf(':') + 1).split(/,(?=\s*<)/))
    .map((c) => c.trim());
}

/** Runs the softphone test against one form; `start` brings the servers up inside the namespace. */
export function runSoftphoneSuite(
  form: Form,
  opts: {
    readonly skip: string | false;
    start(inNs: InNs, dir: string, ns: string): Promise<PhoneServers>;
  },
): void {
  describe(`two real softphones (baresip) register and call each other — ${FORM_TITLE[form]}`, {
    skip: opts.skip,
    timeout: 120_000,
  }, () => {
    const ns = `flowgate-sp-${form}-${process.pid}`;
    const procs: ChildProcess[] = [];
    let dir: string;
    let servers: PhoneServers | undefined;

    const inNs: InNs = (cmd, args, log, env) => {
      const p = spawn('ip', ['netns', 'exec', ns, cmd, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        ...(env === undefined ? {} : { env: { ...process.env, ...env } }),
      });
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
    };

    before(() => {
      dir = mkdtempSync(join(tmpdir(), `flowgate-softphone-${form}-`));
      execFileSync('ip', ['netns', 'add', ns]);
      execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    });

    after(async () => {
      await servers?.stop().catch(() => undefined);
      for (const p of procs) {
        p.stdout?.removeAllListeners('data');
        p.stderr?.removeAllListeners('data');
        p.kill('SIGKILL');
      }
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, { recursive: true, force: true });
    });

    test('bob and alice register with outbound (reg-id, +sip.instance); alice calls bob; audio flows both ways; the call ends cleanly', async () => {
      servers = await opts.start(inNs, dir, ns);
      const tone = join(dir, 'tone.wav');
      writeTone(tone);

      const bobLog = join(dir, 'bob.log');
      inNs('baresip', ['-f', profile(dir, 'bob', tone, servers.twoFlows), '-t', '40'], bobLog);
      await waitFor(() => /200 OK/.test(readText(bobLog)), 15_000, 'bob to register');

      const aliceLog = join(dir, 'alice.log');
      inNs(
        'baresip',
        [
          '-f',
          profile(dir, 'alice', tone, servers.twoFlows),
          '-t',
          '30',
          '-e',
          '/dial sip:bob@example.com',
        ],
        aliceLog,
      );
      await waitFor(
        () => /Call established/.test(readText(aliceLog)),
        20_000,
        'the call to be established',
      );

      // both are bound through the edge, with RFC 5626 outbound: as the registrar lists them
      for (const aor of ['alice', 'bob']) {
        const listed = listedBindings(ns, servers.registrar, aor);
        const flows = listed.filter(
          (c) => /;reg-id=\d+/.test(c) && /\+sip\.instance="<urn:uuid:/.test(c),
        );
        assert.equal(
          flows.length,
          servers.twoFlows ? 2 : 1,
          `${aor}'s outbound bindings: ${listed.join(' | ')}`,
        );
        assert.deepEqual(
          flows.map((c) => /;reg-id=(\d+)/.exec(c)?.[1]).sort(),
          servers.twoFlows ? ['1', '2'] : ['1'],
        );
      }
      // and as flowgate keeps them (the management token `flowgate start` generated, issue 10 §6)
      if (servers.bindings !== undefined) {
        const bindings = servers.bindings();
        for (const aor of ['alice', 'bob']) {
          const b = bindings.find((x) => x.aor === aor);
          assert.ok(b, `${aor} is registered: ${JSON.stringify(bindings)}`);
          assert.equal(b.reg_id, 1);
          assert.match(b.instance ?? '', /^<urn:uuid:/);
          assert.match(
            b.path[0] ?? '',
            /;lr;ob>$/,
            'registered through the edge, with a flow token',
          );
        }
      }
      // RTP flowed (baresip reports the rate), then bob's audio file ends and he hangs up: the BYE
      // crosses the edge and the registrar
      await waitFor(
        () =>
          /audio=[1-9]\d*\/[1-9]\d*/.test(readText(bobLog)) &&
          /terminated/.test(readText(aliceLog)),
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
}
