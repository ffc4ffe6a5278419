// Issue 14 §2: examples/systemd/flowgate.service passes `systemd-analyze verify` (skipped with a
// message where systemd-analyze is missing), and says what docs/deployment.md says: the user, the
// command line, reload by SIGHUP, LimitNOFILE from the connection caps, the sandbox.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MODULE_DEFAULTS } from '../../../src/config/defaults.js';
import { ROOT } from './helpers.js';

const UNIT = join(ROOT, 'examples', 'systemd', 'flowgate.service');
const BIN = '/opt/flowgate/node_modules/.bin/flowgate';
const DIR = mkdtempSync(join(tmpdir(), 'flowgate-systemd-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function analyzeSkip(): string | false {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore', timeout: 10_000 });
    return false;
  } catch {
    return 'systemd-analyze is not installed (Debian: apt-get install systemd)';
  }
}

/** `Key=value` lines of the [Service] section (a key may repeat). */
function serviceKeys(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const s = /^\[(.+)\]$/.exec(line);
    if (s !== null) {
      section = s[1] ?? '';
      continue;
    }
    if (section !== 'Service') continue;
    const i = line.indexOf('=');
    const k = line.slice(0, i);
    out.set(k, [...(out.get(k) ?? []), line.slice(i + 1)]);
  }
  return out;
}

describe('examples/systemd/flowgate.service', () => {
  const text = readFileSync(UNIT, 'utf8');
  const keys = serviceKeys(text);
  const one = (k: string): string | undefined => keys.get(k)?.[0];

  test('systemd-analyze verify: no warning (ExecStart pointed at a stand-in of the installed bin)', {
    skip: analyzeSkip(),
  }, () => {
    // verify checks that ExecStart's program exists: a temporary copy names an executable stand-in
    const bin = join(DIR, 'flowgate');
    writeFileSync(bin, '#!/bin/sh\nexit 0\n');
    chmodSync(bin, 0o755);
    assert.ok(text.includes(BIN));
    const copy = join(DIR, 'flowgate.service');
    writeFileSync(copy, text.replaceAll(BIN, bin));
    const r = spawnSync('systemd-analyze', ['verify', copy], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(`${r.stdout}${r.stderr}`.trim(), '', 'no warning at all');
  });

  test('runs the installed bin as user flowgate with the configuration and data directory; SIGHUP reloads', () => {
    assert.equal(one('User'), 'flowgate');
    assert.equal(
      one('ExecStart'),
      `${BIN} start -c /etc/flowgate/flowgate.yaml --data-dir /var/lib/flowgate`,
    );
    assert.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
    assert.equal(one('StateDirectory'), 'flowgate');
    assert.equal(one('ReadWritePaths'), '/var/lib/flowgate');
  });

  test('LimitNOFILE covers the default connection caps of an edge and a registrar in one process', () => {
    const l = MODULE_DEFAULTS.limits;
    // per element: max_connections + max_outgoing_connections + its listeners (3 by default)
    const need = 2 * (l.max_connections + l.max_outgoing_connections + 3) + 256;
    const have = Number(one('LimitNOFILE'));
    assert.ok(have >= need, `LimitNOFILE=${have} < ${need}`);
    assert.match(
      text,
      new RegExp(
        `2 x \\(${l.max_connections} \\+ ${l.max_outgoing_connections} \\+ 3\\) \\+ 256 = ${need}`,
      ),
    );
  });

  test('sandboxed: only CAP_NET_BIND_SERVICE, no new privileges, read-only system, private /tmp', () => {
    assert.equal(one('AmbientCapabilities'), 'CAP_NET_BIND_SERVICE');
    assert.equal(one('CapabilityBoundingSet'), 'CAP_NET_BIND_SERVICE');
    assert.equal(one('NoNewPrivileges'), 'yes');
    assert.equal(one('ProtectSystem'), 'strict');
    assert.equal(one('PrivateTmp'), 'yes');
    assert.equal(one('ProtectHome'), 'yes');
    assert.equal(one('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory");
  });
});
