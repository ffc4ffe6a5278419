// The acceptance files of issue 11, prepared as the peer harness prepares them: the Kamailio test
// peer's edge.cfg.in / registrar.cfg.in rendered exactly as kamailio.sh renders them (its own sed
// expressions), and the seed's Example 1.1 / 1.2 cut out of the seed text as printed, with only
// the #!subst addresses changed. Not a test file.
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/** The shared folder (read-only): `FLOWGATE_SHARED_DIR`, or `../shared` beside the repository. */
export const SHARED_DIR =
  process.env['FLOWGATE_SHARED_DIR'] ?? resolve(import.meta.dirname, '../../../../shared');

export const ROOT = resolve(import.meta.dirname, '..', '..', '..');

/** The addresses kamailio.sh substitutes. */
export interface RenderVars {
  readonly EDGE_IP: string;
  readonly EDGE_PORT: number;
  readonly WS_PORT: number;
  readonly REG_IP: string;
  readonly REG_PORT: number;
  readonly DBTEXT_DIR: string;
}

/**
 * `kamailio.sh`'s render(): the same sed expressions, run by sed, into `dir/<role>.cfg`.
 * Returns the path.
 */
export function renderPeerCfg(role: 'edge' | 'registrar', v: RenderVars, dir: string): string {
  const out = execFileSync(
    'sed',
    [
      '-e',
      `s/@EDGE_IP@/${v.EDGE_IP}/g; s/@EDGE_PORT@/${v.EDGE_PORT}/g; s/@WS_PORT@/${v.WS_PORT}/g`,
      '-e',
      `s/@REG_IP@/${v.REG_IP}/g; s/@REG_PORT@/${v.REG_PORT}/g`,
      '-e',
      `s|@DBTEXT_DIR@|${v.DBTEXT_DIR}|g`,
      join(SHARED_DIR, 'kamailio', `${role}.cfg.in`),
    ],
    { encoding: 'utf8' },
  );
  const path = join(dir, `${role}.cfg`);
  writeFileSync(path, out);
  return path;
}

/** The seed's two example configurations, as printed (Example 1.2 starts with "MAILIO"). */
export function seedExamples(): { edge: string; registrar: string } {
  const text = readFileSync(join(SHARED_DIR, 'seed', 'kamailio-outbound-module.txt'), 'utf8');
  const a = text.indexOf('Example 1.1. Edge Proxy Configuration\n');
  const b = text.indexOf('Example 1.2. Registrar Configuration\n');
  const c = text.indexOf('The following modules must be loaded before this module:');
  if (a < 0 || b < 0 || c < 0) throw new Error('the seed text does not have its two examples');
  const edge = text.slice(text.indexOf('\n', a) + 1, b);
  const registrar = text.slice(text.indexOf('\n', b) + 1, c);
  return { edge, registrar };
}

/** The seed's edge with its `#!subst` addresses changed (nothing else). */
export function seedEdge(registrarIp: string, registrarPort: number): string {
  const { edge } = seedExamples();
  const out = edge
    .replace('#!subst "/REGISTRAR_IP/192.168.122.3/"', `#!subst "/REGISTRAR_IP/${registrarIp}/"`)
    .replace('#!subst "/REGISTRAR_PORT/5060/"', `#!subst "/REGISTRAR_PORT/${registrarPort}/"`);
  if (out === edge && (registrarIp !== '192.168.122.3' || registrarPort !== 5060))
    throw new Error('the seed edge has no #!subst lines to change');
  return out;
}

/** A port free on both UDP and TCP of `host` (bound and released at once; prefer port 0 where possible). */
export async function freeSipPort(host = '127.0.0.1'): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const tcp = createServer();
    const port = await new Promise<number>((res, rej) => {
      tcp.once('error', rej);
      tcp.listen(0, host, () => {
        const a = tcp.address();
        res(typeof a === 'object' && a !== null ? a.port : 0);
      });
    });
    const udp = createSocket('udp4');
    const ok = await new Promise<boolean>((res) => {
      udp.once('error', () => res(false));
      udp.bind(port, host, () => res(true));
    });
    await new Promise<void>((r) => tcp.close(() => r()));
    if (ok) {
      await new Promise<void>((r) => udp.close(() => r()));
      return port;
    }
    udp.close();
  }
  throw new Error('no port free on both UDP and TCP');
}

/** `node --import tsx src/cli/main.ts`: the CLI from source (no build needed). */
export const CLI_FROM_SOURCE: readonly [string, ...string[]] = [
  process.execPath,
  '--import',
  // resolved here: the processes run in other directories
  import.meta.resolve('tsx'),
  join(ROOT, 'src', 'cli', 'main.ts'),
];
