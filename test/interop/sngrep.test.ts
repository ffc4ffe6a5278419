// Issue 13 §3: a real HEP collector. Debian's sngrep 1.6 listens for HEP (`-L udp:…`) without a
// terminal (`-N -q`) and writes what it decoded to a pcap (`-O`), with the addresses, ports and
// time from the HEP chunks. The built-in edge and registrar both capture to it while alice (UDP)
// and bob (TCP) register and alice calls bob and hangs up: every message each element received
// and sent (as its tap saw it) is in sngrep's file, decoded right: source and destination address
// and port, transport, the time to the microsecond, the SIP bytes unchanged. sngrep also checks
// the capture's auth key (eep.listen.pass). Skipped when sngrep is not installed.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type Instance, type RunningElement, startInstance } from '../../src/cli/instance.js';
import { parseConfig } from '../../src/config/load.js';
import { type CapturedMessage, encodeHep } from '../../src/modules/siptrace/index.js';
import { noopLogger } from '../../src/util/logger.js';
import { WAIT_MS } from '../support/net.js';
import { type PcapRecord, readPcap } from '../support/pcap.js';
import { TestUa, waitFor } from '../support/ua.js';
import { bye, callFrom } from '../support/ua-call.js';
import { freePort, isListening } from './peers.js';

const AUTH_KEY = 'hep-key-0123';

function sngrepSkip(): string | false {
  const r = spawnSync('sngrep', ['-V'], { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined || !/sngrep - \d/.test(r.stdout ?? ''))
    return 'sngrep is not installed (Debian package sngrep; scripts/test-all.sh installs it): HEP interop test skipped';
  if (!/EEP\/HEP support/.test(r.stdout ?? ''))
    return 'this sngrep was built without EEP/HEP support: HEP interop test skipped';
  return false;
}

const ep = (a: { address: string; port: number }): string => `${a.address}:${a.port}`;

describe('sngrep -L: a real HEP collector decodes every message (issue 13 §3)', {
  skip: sngrepSkip(),
}, () => {
  let dir: string;
  let sngrep: ChildProcess | undefined;
  let sngrepErr = '';
  let inst: Instance | undefined;
  const seen: CapturedMessage[] = [];
  const uas: TestUa[] = [];
  let records: PcapRecord[] = [];
  let pcapFile = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-sngrep-'));
    const port = await freePort();
    pcapFile = join(dir, 'hep.pcap');
    // sngrep checks the auth key chunk against eep.listen.pass
    const rc = join(dir, 'sngreprc');
    writeFileSync(rc, `set eep.listen.pass ${AUTH_KEY}\n`);
    sngrep = spawn(
      'sngrep',
      ['-f', rc, '-N', '-q', '-L', `udp:127.0.0.1:${port}`, '-O', pcapFile],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: dir } },
    );
    sngrep.stderr?.on('data', (d: Buffer) => {
      sngrepErr += d.toString();
    });
    await waitFor(
      () => isListening('udp', '127.0.0.1', port) || sngrep?.exitCode !== null,
      WAIT_MS,
      'sngrep to listen for HEP',
    );
    assert.equal(sngrep.exitCode, null, `sngrep exited: ${sngrepErr}`);

    const config = parseConfig(
      `
data_dir: ${dir}
log: { level: silent }
management: { listen: false }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
    modules:
      siptrace: { duplicate_uri: udp:127.0.0.1:${port}, hep_capture_id: 1, auth_key: ${AUTH_KEY} }
  registrar:
    listen: [udp:127.0.0.1:0]
    alias: [example.com]
    modules:
      usrloc: { backend: memory }
      siptrace: { duplicate_uri: udp:127.0.0.1:${port}, hep_capture_id: 2, auth_key: ${AUTH_KEY} }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'test' });
    // what each element's tap saw: the reference the collector's file is checked against
    for (const e of inst.elements) e.server.tap.add((m) => seen.push(m));
    const edge = inst.elements.find((e) => e.config.name === 'edge') as RunningElement;
    const port2 = (p: 'udp' | 'tcp'): number =>
      edge.listeners.find((l) => l.proto === p)?.port ?? 0;
    const alice = await TestUa.connect('udp', '127.0.0.1', port2('udp'), { user: 'alice' });
    const bob = await TestUa.connect('tcp', '127.0.0.1', port2('tcp'), { user: 'bob' });
    uas.push(alice, bob);
    assert.equal((await alice.register()).status, 200);
    assert.equal((await bob.register()).status, 200);
    const call = await callFrom(alice, 'sip:bob@example.com');
    assert.equal(call.status, 200, call.response.toString());
    assert.ok(call.dialog !== undefined);
    await bob.nextRequest('ACK');
    assert.equal((await bye(alice, call.dialog)).status, 200);
    // sngrep writes each packet as it decodes it
    await waitFor(
      () => {
        if (!existsSync(pcapFile)) return false;
        records = readPcap(readFileSync(pcapFile));
        return records.length >= seen.length;
      },
      WAIT_MS * 2,
      'sngrep to write every message',
    );
  });

  after(async () => {
    for (const u of uas) u.close();
    await inst?.stop(0);
    if (sngrep !== undefined && sngrep.exitCode === null) {
      sngrep.kill('SIGTERM');
      await waitFor(() => sngrep?.exitCode !== null, WAIT_MS).catch(() => sngrep?.kill('SIGKILL'));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  test('every message of the registration and the call, in and out of both elements, decoded right', () => {
    assert.ok(seen.length >= 40, `${seen.length} messages seen`);
    assert.equal(records.length, seen.length, 'one record per captured message, no more');
    const left = [...records];
    for (const m of seen) {
      const sec = Math.floor(m.timeUs / 1_000_000);
      const usec = m.timeUs - sec * 1_000_000;
      const i = left.findIndex(
        (r) =>
          r.timeSec === sec &&
          r.timeUsec === usec &&
          ep(r.src) === ep(m.src) &&
          ep(r.dst) === ep(m.dst) &&
          r.payload.equals(m.bytes),
      );
      assert.ok(
        i >= 0,
        `${m.element} ${m.direction} ${m.proto} ${ep(m.src)} -> ${ep(m.dst)} at ${m.timeUs} not in sngrep's file:\n${m.bytes}`,
      );
      const r = left.splice(i, 1)[0] as PcapRecord;
      assert.equal(r.family, 4);
      // sngrep 1.6 files every packet it got over HEP as UDP (capture_eep.c: PACKET_SIP_UDP), so
      // its file cannot show the transport chunk; test/integration/siptrace/capture.test.ts does
      assert.equal(r.ipProto, 17);
    }
    assert.equal(left.length, 0);
    assert.ok(
      seen.some((m) => m.proto === 'tcp'),
      "bob's leg is TCP",
    );
    const lines = new Set(records.map((r) => r.payload.toString('latin1').split('\r\n')[0]));
    for (const want of [/^REGISTER /, /^INVITE /, /^ACK /, /^BYE /, /^SIP\/2\.0 180 /])
      assert.ok(
        [...lines].some((l) => want.test(l ?? '')),
        `${want}`,
      );
  });

  test('sngrep checks the auth key: a packet with another key is dropped, with ours it is kept', async () => {
    const port = Number(/udp:127\.0\.0\.1:(\d+)/.exec(String(sngrep?.spawnargs.join(' ')))?.[1]);
    const before = readPcap(readFileSync(pcapFile)).length;
    const packet = (key: string, callId: string): Buffer =>
      encodeHep({
        family: 4,
        ipProto: 17,
        src: { address: '192.0.2.1', port: 5060 },
        dst: { address: '192.0.2.2', port: 5060 },
        timeSec: 1_700_000_000,
        timeUsec: 1,
        protoType: 1,
        captureId: 9,
        authKey: key,
        payload: Buffer.from(
          `OPTIONS sip:x@192.0.2.2 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK${callId}\r\nFrom: <sip:a@192.0.2.1>;tag=1\r\nTo: <sip:x@192.0.2.2>\r\nCall-ID: ${callId}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        ),
        correlationId: callId,
      }) as Buffer;
    const sock = createSocket('udp4');
    try {
      for (const [key, id] of [
        ['not-the-key', 'wrong-key'],
        [AUTH_KEY, 'right-key'],
      ] as const)
        await new Promise<void>((resolve, reject) =>
          sock.send(packet(key, id), port, '127.0.0.1', (e) => (e ? reject(e) : resolve())),
        );
    } finally {
      sock.close();
    }
    let now: PcapRecord[] = [];
    await waitFor(
      () => {
        now = readPcap(readFileSync(pcapFile));
        return now.length > before;
      },
      WAIT_MS,
      'sngrep to keep the packet with the right key',
    );
    // the packet with the wrong key went first, to the same single-threaded listener: had sngrep
    // kept it, it would be in the file before the right one
    const added = now.slice(before).map((r) => /Call-ID: (\S+)/.exec(r.payload.toString())?.[1]);
    assert.deepEqual(added, ['right-key']);
  });
});
