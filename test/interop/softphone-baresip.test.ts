// Two real softphones (baresip) through the seed pair in the three forms of issue 11
// (softphone-baresip.case.ts): `flowgate start` (the embedded default, built-in scripts), the
// Kamailio test peer's edge.cfg and registrar.cfg with `flowgate start -c` (one process each), and
// Kamailio running the same files. Each form in a network namespace of its own, loopback only.
import { type ChildProcess, execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderPeerCfg } from '../integration/cfg/cfg-files.js';
import { CLI, ensureBuilt } from '../integration/cli/helpers.js';
import { waitFor } from '../support/net.js';
import { KAMAILIO_SH, kamailioSkip } from './peers.js';
import { type InNs, runSoftphoneSuite, softphoneSkip } from './softphone-baresip.case.js';

const read = (p: string): string => {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return '';
  }
};

/** The addresses inside a namespace: the edge on 127.0.0.1:5060 (the phones' outbound proxy). */
const VARS = (dir: string) => ({
  EDGE_IP: '127.0.0.1',
  EDGE_PORT: 5060,
  WS_PORT: 8080,
  REG_IP: '127.0.0.2',
  REG_PORT: 5060,
  DBTEXT_DIR: join(dir, 'dbtext'),
});

runSoftphoneSuite('ts', {
  skip: softphoneSkip(),
  async start(inNs: InNs, dir: string, ns: string) {
    ensureBuilt();
    const log = join(dir, 'flowgate.log');
    const p = inNs(process.execPath, [CLI, 'start', '--data-dir', join(dir, 'data')], log);
    await waitFor(() => /management: http/.test(read(log)), 20_000, 'flowgate to start');
    return {
      registrar: { ip: '127.0.0.1', port: 5070 },
      twoFlows: false,
      bindings: () =>
        (
          JSON.parse(
            execFileSync(
              'ip',
              [
                'netns',
                'exec',
                ns,
                process.execPath,
                CLI,
                'ctl',
                'bindings',
                '--json',
                '--data-dir',
                join(dir, 'data'),
              ],
              { encoding: 'utf8', timeout: 10_000 },
            ),
          ) as {
            bindings: { aor: string; reg_id: number; instance: string | null; path: string[] }[];
          }
        ).bindings,
      async stop() {
        p.kill('SIGTERM');
      },
    };
  },
});

runSoftphoneSuite('cfg', {
  skip: softphoneSkip(),
  async start(inNs: InNs, dir: string) {
    ensureBuilt();
    const procs: ChildProcess[] = [];
    for (const role of ['registrar', 'edge'] as const) {
      const log = join(dir, `flowgate-${role}.log`);
      procs.push(
        inNs(process.execPath, [CLI, 'start', '-c', renderPeerCfg(role, VARS(dir), dir)], log),
      );
      await waitFor(
        () => /: listening on /.test(read(log)),
        20_000,
        `flowgate start -c ${role}.cfg`,
      );
    }
    return {
      registrar: { ip: '127.0.0.2', port: 5060 },
      twoFlows: false,
      async stop() {
        for (const p of procs) p.kill('SIGTERM');
      },
    };
  },
});

runSoftphoneSuite('kamailio', {
  skip: softphoneSkip() || kamailioSkip(),
  async start(_inNs: InNs, dir: string, ns: string) {
    const v = VARS(dir);
    const env = {
      ...process.env,
      STATE_DIR: join(dir, 'kamailio'),
      EDGE_IP: v.EDGE_IP,
      EDGE_PORT: String(v.EDGE_PORT),
      WS_PORT: String(v.WS_PORT),
      REG_IP: v.REG_IP,
      REG_PORT: String(v.REG_PORT),
      KAM_SHM_MB: '64',
    };
    const helper = (cmd: 'start' | 'stop') =>
      spawnSync('ip', ['netns', 'exec', ns, 'bash', KAMAILIO_SH, cmd, 'both'], {
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
    const r = helper('start');
    if (r.status !== 0) {
      helper('stop');
      throw new Error(`kamailio.sh start both failed in the namespace:\n${r.stdout}${r.stderr}`);
    }
    return {
      registrar: { ip: v.REG_IP, port: v.REG_PORT },
      // the seed registrar answers a call to a user with ONE contact 500 (decision Q-R7)
      twoFlows: true,
      async stop() {
        helper('stop');
      },
    };
  },
});
