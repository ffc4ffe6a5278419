// The seed pair (edge + registrar) with sipp and a UA over real sockets, in the three forms of
// issue 11 (seed-interop.case.ts): flowgate's built-in scripts in this process, the peer's .cfg
// files run by `flowgate start -c` (one process each), Kamailio running the same files. Each form
// has its loopback block (127.65.1/2/3.x). Skipped without sipp; the Kamailio form without Kamailio.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryLocationStore } from '../../src/modules/location/memory.js';
import { CLI_FROM_SOURCE, renderPeerCfg } from '../integration/cfg/cfg-files.js';
import { Running } from '../integration/cli/helpers.js';
import {
  edgeElementOptions,
  inProcessRegistrarOptions,
  SEED_REGISTRAR_PARAMS,
} from '../support/seed-forms.js';
import { freePort, kamailioSkip, sippSkip, startFlowgate, startKamailio } from './peers.js';
import { runSeedInteropSuite, type SeedPair } from './seed-interop.case.js';

const listen = (ip: string, port: number) =>
  [
    { proto: 'udp', address: ip, port },
    { proto: 'tcp', address: ip, port },
  ] as const;

runSeedInteropSuite('ts', {
  skip: sippSkip(),
  block: '127.65.1',
  async start(): Promise<SeedPair> {
    const edge = { ip: '127.65.1.1', port: await freePort('127.65.1.1') };
    const registrar = { ip: '127.65.1.2', port: await freePort('127.65.1.2') };
    const store = new MemoryLocationStore();
    await store.open();
    const r = await startFlowgate({
      ...inProcessRegistrarOptions('ts', SEED_REGISTRAR_PARAMS, store, {}),
      listen: [...listen(registrar.ip, registrar.port)],
    });
    const e = await startFlowgate({
      ...edgeElementOptions('ts', { registrar: `${registrar.ip}:${registrar.port}` }),
      listen: [...listen(edge.ip, edge.port)],
    });
    return {
      edge,
      registrar,
      async close() {
        await e.close();
        await r.close();
      },
    };
  },
});

runSeedInteropSuite('cfg', {
  skip: sippSkip(),
  block: '127.65.2',
  async start(): Promise<SeedPair> {
    const dir = mkdtempSync(join(tmpdir(), 'fg-seed-interop-'));
    const edge = { ip: '127.65.2.1', port: await freePort('127.65.2.1') };
    const registrar = { ip: '127.65.2.2', port: await freePort('127.65.2.2') };
    const vars = {
      EDGE_IP: edge.ip,
      EDGE_PORT: edge.port,
      WS_PORT: await freePort(edge.ip),
      REG_IP: registrar.ip,
      REG_PORT: registrar.port,
      DBTEXT_DIR: join(dir, 'dbtext'),
    };
    const started: Running[] = [];
    const close = async (): Promise<void> => {
      for (const p of started) await p.stop().catch(() => p.kill());
      rmSync(dir, { recursive: true, force: true });
    };
    try {
      for (const role of ['registrar', 'edge'] as const) {
        const p = await Running.start(['-c', renderPeerCfg(role, vars, dir)], {
          cwd: dir,
          command: CLI_FROM_SOURCE,
          waitFor: /^\S+: listening on /m,
        });
        started.push(p);
        if (p.exitCode !== undefined)
          throw new Error(`flowgate start -c ${role}.cfg exited:\n${p.stderr}`);
      }
    } catch (e) {
      await close();
      throw e;
    }
    return { edge, registrar, close };
  },
});

runSeedInteropSuite('kamailio', {
  skip: sippSkip() || kamailioSkip(),
  block: '127.65.3',
  async start(): Promise<SeedPair> {
    const edge = { ip: '127.65.3.1', port: await freePort('127.65.3.1') };
    const registrar = { ip: '127.65.3.2', port: await freePort('127.65.3.2') };
    const k = await startKamailio('both', {
      edgeIp: edge.ip,
      edgePort: edge.port,
      regIp: registrar.ip,
      regPort: registrar.port,
    });
    return { edge, registrar, close: () => k.stop() };
  },
});
