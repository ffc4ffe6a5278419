// Issue 11 §3: `flowgate check edge.cfg` validates a Kamailio configuration as it validates YAML
// (every problem with file:line:col and a hint), `flowgate cfg translate edge.cfg` prints the
// TypeScript script. The CLI's main() in-process, on the acceptance files.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { main } from '../../../src/cli/program.js';
import { renderPeerCfg } from './cfg-files.js';

async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}

describe('flowgate check / cfg translate on .cfg files', () => {
  let dir: string;
  let edge: string;
  let registrar: string;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'fg-cfg-cli-'));
    const vars = {
      EDGE_IP: '127.0.0.1',
      EDGE_PORT: 5060,
      WS_PORT: 8080,
      REG_IP: '127.0.0.2',
      REG_PORT: 5060,
      DBTEXT_DIR: join(dir, 'dbtext'),
    };
    edge = renderPeerCfg('edge', vars, dir);
    registrar = renderPeerCfg('registrar', vars, dir);
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  test('check edge.cfg: OK, the element, its listeners, and the notes', async () => {
    const r = await cli(['check', '--no-port-check', edge]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /: OK\n {2}edge: script \S+edge\.cfg, listen udp:127\.0\.0\.1:5060 tcp:127\.0\.0\.1:5060 ws:127\.0\.0\.1:8080\n/,
    );
    assert.match(r.out, /note: \S+edge\.cfg:200:13: event_route\[xhttp:request\] is not run/);
  });

  test('check -A WITH_AUTH registrar.cfg: the auth modules load', async () => {
    const r = await cli(['check', '--no-port-check', '-A', 'WITH_AUTH', registrar]);
    assert.equal(r.code, 0, r.err);
    assert.match(
      r.out,
      /note: \S+registrar\.cfg:69:31: modparam\("auth_db", "db_url", "text:\/\/\S+"\): flowgate does not read db_text tables/,
    );
  });

  test('check of a broken .cfg: every problem with file:line:col, exit 1', async () => {
    const bad = join(dir, 'bad.cfg');
    writeFileSync(
      bad,
      readFileSync(edge, 'utf8')
        .replace('loadmodule "stun.so"', 'loadmodule "stunn.so"')
        .replace('t_on_failure("FAIL_OUTBOUND");', 't_on_failure("FAIL_OUTBOND");')
        .replace('sl_send_reply("484", "Address Incomplete");', 'sl_send_reply("484");'),
    );
    const r = await cli(['check', bad]);
    assert.equal(r.code, 1);
    const lines = r.err.trim().split('\n');
    assert.match(
      lines[0] ?? '',
      /bad\.cfg:58:12: unknown module 'stunn' \(did you mean 'stun'\?\)$/,
    );
    assert.match(
      lines[1] ?? '',
      /bad\.cfg:106:5: wrong number of arguments: sl_send_reply\(\) takes 2 arguments, got 1$/,
    );
    assert.match(
      lines[2] ?? '',
      /bad\.cfg:124:17: t_on_failure\("FAIL_OUTBOND"\): there is no failure_route\[FAIL_OUTBOND\] \(did you mean "FAIL_OUTBOUND"\?\)$/,
    );
    assert.match(lines[3] ?? '', /^3 problems in \S+bad\.cfg$/);
  });

  test('cfg translate: the TypeScript on stdout, or into -o FILE; notes on stderr', async () => {
    const r = await cli(['cfg', 'translate', edge]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^\/\/ \S+edge\.cfg, translated by flowgate cfg translate/);
    assert.match(r.out, /import \{ defineScript, type ScriptContext \} from 'flowgate';/);
    assert.match(r.out, /ctx\.\$du = 'sip:127\.0\.0\.2:5060';/);
    assert.match(r.out, /ctx\.insert_hf\('Flow-Timer: 20\\r\\n', 'Call-ID'\);/);
    assert.match(r.err, /^note: /m);
    const out = join(dir, 'registrar.ts');
    const w = await cli(['cfg', 'translate', '-A', 'WITH_AUTH', '-o', out, registrar]);
    assert.equal(w.code, 0, w.err);
    assert.equal(w.out, '');
    assert.match(readFileSync(out, 'utf8'), /await ctx\.auth_check\('\$td', 'subscriber', '1'\)/);
  });

  test('cfg translate of a broken .cfg: its problems, exit 1; usage mistakes: exit 2; --help: exit 0', async () => {
    const bad = join(dir, 'bad2.cfg');
    writeFileSync(bad, 'request_route {\n  t_relya();\n}\n');
    const r = await cli(['cfg', 'translate', bad]);
    assert.equal(r.code, 1);
    assert.match(
      r.err,
      /bad2\.cfg:2:3: unknown function 't_relya' \(did you mean 't_relay'\?\)\n1 problem in /,
    );
    assert.equal((await cli(['cfg', 'translate'])).code, 2);
    assert.equal((await cli(['cfg', 'frob', edge])).code, 2);
    const h = await cli(['cfg', '--help']);
    assert.equal(h.code, 0);
    assert.match(h.out, /^Usage: flowgate cfg translate /);
  });
});
