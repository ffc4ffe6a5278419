// The flowgate side of the web console benchmark (bench/console/run.ts): an edge and a registrar
// in one process, as `flowgate start` runs them, on free loopback ports, with the management API
// (and so the console). Prints one JSON line {url, token, edge} when ready; then answers each
// stdin line `cpu` with {cpu_us, registers, streams}: this process's CPU time (user + system, µs)
// and the REGISTERs the edge has taken so far.
//   node --import tsx bench/console/server.ts DATA_DIR
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startInstance } from '../../src/cli/instance.js';
import { parseConfig } from '../../src/config/load.js';
import { noopLogger } from '../../src/util/logger.js';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: server.ts DATA_DIR');
const token = randomBytes(16).toString('hex');
const config = parseConfig(
  `
data_dir: ${dir}
log: { level: silent }
management: { listen: 127.0.0.1:0, token: ${token} }
elements:
  edge:
    listen: [udp:127.0.0.1:0]
  registrar:
    listen: [udp:127.0.0.1:0]
    modules: { usrloc: { backend: memory } }
`,
  join(dir, 'flowgate.yaml'),
);
const inst = await startInstance(config, { logger: noopLogger, version: 'bench' });
const edge = inst.elements.find((e) => e.config.name === 'edge');
const port = edge?.listeners[0]?.port ?? 0;
const out = (o: unknown): boolean => process.stdout.write(`${JSON.stringify(o)}\n`);
out({ url: inst.management?.url, token, edge: `127.0.0.1:${port}` });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === 'cpu') {
    const c = process.cpuUsage();
    out({
      cpu_us: c.user + c.system,
      registers: edge?.server.core.stats.requests['REGISTER'] ?? 0,
    });
  }
}
await inst.stop(0);
process.exit(0);
