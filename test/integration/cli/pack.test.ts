// Issue 14 §2: a packaged install. `npm pack` (its prepack builds dist/ from a clean slate) makes a
// tarball with dist/, docs/, examples/ (the systemd unit among them) and no sources or tests; it
// installs into a temporary prefix with production dependencies only, and the installed
// `flowgate` bin starts from a temporary configuration on free loopback ports, answers an OPTIONS,
// and stops on SIGTERM. The pack runs in a staging copy of the sources (the working tree's dist/
// is left alone); npm uses its own cache. better-sqlite3's native addon is handed to its installer
// as a local prebuild made from the working tree's own build (same version, same Node ABI), so the
// install neither compiles for minutes nor fetches a binary from anywhere but the npm registry.
// Skipped with a message when the npm registry cannot be reached.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { UdpClient } from '../../support/net.js';
import { ROOT, Running } from './helpers.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-pack-'));
const STAGE = join(DIR, 'stage');
const OUT = join(DIR, 'out');
const PREFIX = join(DIR, 'prefix');
const NPM_ENV: NodeJS.ProcessEnv = {
  // node on PATH for npm's scripts and the bin's #!/usr/bin/env node
  PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
};

interface Done {
  readonly code: number | null;
  readonly out: string;
}

/** Runs a command to completion within `timeoutMs` (killed after). */
function sh(
  cmd: string,
  args: readonly string[],
  cwd: string,
  timeoutMs: number,
  env: NodeJS.ProcessEnv = {},
): Promise<Done> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, {
      cwd,
      env: { ...process.env, ...NPM_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const t = setTimeout(() => {
      out += `\n(killed after ${timeoutMs} ms)`;
      p.kill('SIGKILL');
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** True when npm's output says it could not reach the registry. */
function unreachable(out: string): boolean {
  return /E(NOTFOUND|AI_AGAIN|TIMEDOUT|CONNREFUSED|CONNRESET|NETUNREACH)|network request .* failed|request to https?:\/\/\S+ failed/i.test(
    out,
  );
}

describe('npm pack + install into a prefix + the installed flowgate runs (issue 14 §2)', {
  timeout: 280_000,
}, () => {
  let tarball = '';
  let fg: Running | undefined;
  after(async () => {
    await fg?.stop().catch(() => fg?.kill());
    fg?.kill();
    rmSync(DIR, { recursive: true, force: true });
  });

  test('npm pack: prepack builds dist/; the tarball has dist, docs, examples and no sources, tests or source maps', async () => {
    mkdirSync(STAGE, { recursive: true });
    mkdirSync(OUT, { recursive: true });
    for (const f of [
      'package.json',
      'package-lock.json',
      'README.md',
      'LICENSE',
      'tsconfig.json',
      'tsconfig.build.json',
    ])
      cpSync(join(ROOT, f), join(STAGE, f));
    for (const d of ['src', 'docs', 'examples', 'scripts', 'web'])
      cpSync(join(ROOT, d), join(STAGE, d), { recursive: true });
    // the build's tools (typescript) from the working tree; nothing of it goes into the package
    symlinkSync(join(ROOT, 'node_modules'), join(STAGE, 'node_modules'), 'dir');
    const r = await sh('npm', ['pack', '--pack-destination', OUT, '--json'], STAGE, 120_000);
    assert.equal(r.code, 0, r.out);
    assert.ok(existsSync(join(STAGE, 'dist', 'cli', 'main.js')), 'prepack built dist/');
    const json = r.out.slice(r.out.indexOf('['));
    const [info] = JSON.parse(json) as { filename: string; files: { path: string }[] }[];
    assert.ok(info !== undefined);
    tarball = join(OUT, info.filename);
    const files = info.files.map((f) => f.path);
    for (const f of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/cli/main.js',
      'dist/index.js',
      'dist/index.d.ts',
      'docs/deployment.md',
      'examples/edge.yaml',
      'examples/registrar.yaml',
      'examples/systemd/flowgate.service',
    ])
      assert.ok(files.includes(f), `${f} is in the package`);
    assert.deepEqual(
      files.filter((f) => /^(src|test|bench|scripts|node_modules)\//.test(f) || f.endsWith('.map')),
      [],
    );
    assert.match(
      readFileSync(join(STAGE, 'dist', 'cli', 'main.js'), 'utf8'),
      /^#!\/usr\/bin\/env node\n/,
    );
  });

  test('npm install --omit=dev into a temporary prefix: the dependencies, none of the dev tools', async (t) => {
    assert.ok(tarball !== '', 'packed');
    // the addon as a prebuild: better-sqlite3-v<version>-node-v<abi>-<platform>-<arch>.tar.gz,
    // holding build/Release/better_sqlite3.node; the prefix pins the version it was built for
    const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
    const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as {
      version: string;
    };
    const prebuilds = join(DIR, 'prebuilds');
    mkdirSync(prebuilds, { recursive: true });
    const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
    const tar = await sh(
      'tar',
      ['-czf', join(prebuilds, name), '-C', sqlite, 'build/Release/better_sqlite3.node'],
      DIR,
      30_000,
    );
    assert.equal(tar.code, 0, tar.out);
    mkdirSync(PREFIX, { recursive: true });
    writeFileSync(
      join(PREFIX, 'package.json'),
      `${JSON.stringify({ private: true, overrides: { 'better-sqlite3': version } }, null, 2)}\n`,
    );
    const r = await sh(
      'npm',
      ['install', '--prefix', PREFIX, '--omit=dev', '--prefer-offline', tarball],
      DIR,
      240_000,
      {
        // prebuild-install's settings for this package (npm warns that it does not know them);
        // the binary host is a closed loopback port: if the local prebuild ever did not match,
        // the download fails at once (no DNS, no traffic) and node-gyp compiles instead
        npm_config_better_sqlite3_local_prebuilds: prebuilds,
        npm_config_better_sqlite3_binary_host: 'http://127.0.0.1:9',
      },
    );
    if (r.code !== 0 && unreachable(r.out)) {
      t.skip(
        `the npm registry cannot be reached: ${r.out.split('\n').find((l) => /ERR/.test(l)) ?? ''}`,
      );
      tarball = '';
      return;
    }
    assert.equal(r.code, 0, r.out);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    for (const d of Object.keys(pkg.dependencies))
      assert.ok(existsSync(join(PREFIX, 'node_modules', d, 'package.json')), `${d} installed`);
    // typescript, tsx, biome, the test peers: nothing the server needs at run time
    for (const d of Object.keys(pkg.devDependencies))
      assert.ok(!existsSync(join(PREFIX, 'node_modules', d)), `dev dependency ${d} not installed`);
    assert.ok(existsSync(join(PREFIX, 'node_modules', '.bin', 'flowgate')));
  });

  test('the installed bin: version, then start on free loopback ports, OPTIONS answered, SIGTERM exits 0', async (t) => {
    if (tarball === '') {
      t.skip('not installed (see above)');
      return;
    }
    const bin = join(PREFIX, 'node_modules', '.bin', 'flowgate');
    const v = await sh(bin, ['version'], DIR, 15_000);
    const version = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    ).version;
    assert.equal(v.code, 0, v.out);
    assert.equal(v.out, `flowgate ${version} (node ${process.version})\n`);
    const cfg = join(DIR, 'flowgate.yaml');
    writeFileSync(
      cfg,
      [
        'management: { listen: 127.0.0.1:0 }',
        'elements:',
        '  edge:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '  registrar:',
        '    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]',
        '',
      ].join('\n'),
    );
    const data = join(DIR, 'data');
    fg = await Running.start(['-c', cfg, '--data-dir', data], {
      cwd: DIR,
      command: [bin],
      env: NPM_ENV,
    });
    assert.equal(fg.exitCode, undefined, fg.stderr);
    assert.deepEqual([...fg.listeners.keys()], ['registrar', 'edge']);
    const port = fg.port('edge', 'udp');
    const ua = await UdpClient.open();
    try {
      ua.send(
        `OPTIONS sip:nobody@127.0.0.1:${port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:${ua.port};branch=z9hG4bK-pack1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:t@127.0.0.1>;tag=p1\r\nTo: <sip:nobody@127.0.0.1>\r\nCall-ID: pack-1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n`,
        port,
      );
      // relayed by the edge to the registrar, which knows nobody
      assert.match((await ua.next()).toString('latin1'), /^SIP\/2\.0 404 /);
    } finally {
      await ua.close();
    }
    assert.ok(existsSync(join(data, 'flow-token.key')), 'state in --data-dir');
    assert.equal(await fg.stop(), 0, fg.stderr);
  });
});
