#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { checkConfig } from '../config/check.js';
import { ConfigError, type ConfigIssue, formatIssue } from '../config/errors.js';
import { formatListen } from '../config/listen.js';
import { DEFAULT_CONFIG_NAME, loadConfig } from '../config/load.js';
import type { Config, LogLevel } from '../config/types.js';
import { CTL_USAGE, readTokenFile, runCtl } from './ctl.js';
import { type Instance, startInstance } from './instance.js';
import { createCliLogger } from './logger.js';
import { runUser } from './user.js';

/** The package version (from package.json next to dist/ and src/). */
export function version(): string {
  try {
    const pkg = JSON.parse(
      readFileSync(new URL('../../package.json', import.meta.url), 'utf8'),
    ) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Top-level usage text. */
export const USAGE = `flowgate: RFC 5626 SIP Outbound edge proxy and registrar

Usage:
  flowgate start [-c file] [--role name] [--data-dir dir] [--log-level level] [--pretty]
      Run the elements of the configuration (no -c: the built-in edge + registrar on 127.0.0.1).
      JSON logs go to stdout; where it listens and how to point a phone at it go to stderr.
      SIGTERM/SIGINT stop gracefully (transactions get 5 s); SIGHUP reopens log.file.
  flowgate check <file>
      Validate a configuration without starting: schema, scripts, TLS files, ports (exit 0 / 1).
  flowgate ctl [--url u] [--token t] [-c file] [--data-dir dir] [--json] <command> [args]
      Talk to a running instance through its management API (like kamcmd); the token is read
      from the data directory flowgate start wrote it to (<data dir>/management.token).
  flowgate user add|passwd|remove <user@domain> [-c file] [--data-dir dir] [--password-stdin]
  flowgate user list [-c file] [--data-dir dir] [--domain d] [--json]
      Manage the users digest authentication checks, in the store the server of -c reads
      (flowgate user help for more).
  flowgate version
      Print the flowgate and Node.js versions.

${CTL_USAGE.replace(/^/gm, '  ').replace(/^ {2}(Commands|Options):/gm, 'ctl $1:')}

Log levels: trace, debug, info, warn, error, fatal, silent.
Configuration reference: docs/configuration.md; example: examples/flowgate.yaml.`;

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Where output goes (tests pass their own). */
export interface Io {
  out(s: string): void;
  err(s: string): void;
}

const stdio: Io = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
};

function printIssues(io: Io, issues: readonly ConfigIssue[]): void {
  for (const i of issues) io.err(`${formatIssue(i)}\n`);
}

function usageError(io: Io, m: string): number {
  io.err(`flowgate: ${m}\nRun 'flowgate help' for usage.\n`);
  return 2;
}

async function cmdCheck(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { config: { type: 'string', short: 'c' } },
    allowPositionals: true,
    strict: true,
  });
  const file = values.config ?? positionals[0];
  if (file === undefined || positionals.length > (values.config === undefined ? 1 : 0))
    return usageError(io, 'usage: flowgate check <file>');
  let config: Config;
  try {
    config = loadConfig(file);
  } catch (e) {
    if (e instanceof ConfigError) {
      printIssues(io, e.issues);
      io.err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in ${file}\n`);
      return 1;
    }
    throw e;
  }
  const issues = await checkConfig(config);
  if (issues.length > 0) {
    printIssues(io, issues);
    io.err(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file}\n`);
    return 1;
  }
  io.out(`${file}: OK\n`);
  for (const el of Object.values(config.elements)) {
    io.out(
      `  ${el.name}: script ${el.script.kind === 'builtin' ? el.script.name : el.script.source}, listen ${el.listen.map(formatListen).join(' ')}\n`,
    );
  }
  return 0;
}

/** The three lines that tell a user how to point a phone at the edge. */
function phoneHint(instance: Instance): string[] {
  const edge = instance.elements.find((e) => e.config.edge !== undefined) ?? instance.elements[0];
  if (edge === undefined) return [];
  const ls = edge.listeners;
  const shown = (l: (typeof ls)[number]): string => {
    const h =
      l.advertise?.host ??
      (l.address === '0.0.0.0' || l.address === '::' ? "this host's address" : l.address);
    const p = l.advertise?.port ?? l.port;
    return `${h.includes(':') && !h.includes(' ') ? `[${h}]` : h}:${p}`;
  };
  const udp = ls.find((l) => l.proto === 'udp');
  const tcp = ls.find((l) => l.proto === 'tcp');
  const tls = ls.find((l) => l.proto === 'tls');
  const ws = ls.find((l) => l.proto === 'ws');
  const wss = ls.find((l) => l.proto === 'wss');
  const main = tcp ?? udp ?? tls ?? ls[0];
  if (main === undefined) return [];
  const transports = [
    udp && `UDP ${shown(udp)}`,
    tcp && `TCP ${shown(tcp)}`,
    tls && `TLS ${shown(tls)}`,
    ws && `WebSocket ws://${shown(ws)}`,
    wss && `WebSocket wss://${shown(wss)}`,
  ]
    .filter(Boolean)
    .join(', ');
  const hostPort = shown(main);
  const authed = instance.elements.find((e) => e.config.modules.auth !== undefined);
  const domain = authed?.config.alias[0] ?? hostPort;
  return [
    'Point a phone at it:',
    authed === undefined
      ? `  SIP server / registrar / domain: ${hostPort} (any user name, e.g. sip:alice@${hostPort}; no password)`
      : `  SIP server / registrar: ${hostPort}, domain ${domain}; user and password as added with: flowgate user add alice@${domain}`,
    `  outbound proxy: sip:${hostPort}${main.proto === 'udp' ? '' : `;transport=${main.proto}`};lr (enable "outbound"/"SIP outbound" if the phone has it)`,
    `  transport: ${transports}`,
  ];
}

async function cmdStart(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      config: { type: 'string', short: 'c' },
      role: { type: 'string' },
      'data-dir': { type: 'string' },
      'log-level': { type: 'string' },
      pretty: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 0)
    return usageError(
      io,
      `start takes no arguments (got '${positionals.join(' ')}'); use -c <file>`,
    );
  const level = values['log-level'];
  if (level !== undefined && !LEVELS.includes(level))
    return usageError(io, `--log-level: expected one of ${LEVELS.join(', ')}, got '${level}'`);
  let config: Config;
  try {
    config = loadConfig(values.config, {
      dataDir: values['data-dir'],
      logLevel: level as LogLevel | undefined,
      pretty: values.pretty,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      printIssues(io, e.issues);
      return 1;
    }
    throw e;
  }
  if (values.role !== undefined && config.elements[values.role] === undefined) {
    io.err(
      `flowgate: --role ${values.role}: no such element in ${values.config ?? DEFAULT_CONFIG_NAME} (there are: ${Object.keys(config.elements).join(', ')})\n`,
    );
    return 1;
  }
  const issues = await checkConfig(config);
  if (issues.length > 0) {
    printIssues(io, issues);
    return 1;
  }
  const cli = createCliLogger(config.log);
  const log = cli.logger;
  const ver = version();
  log.info(
    {
      version: ver,
      node: process.version,
      config: config.file ?? DEFAULT_CONFIG_NAME,
      data_dir: config.data_dir,
      role: values.role,
    },
    'flowgate starting',
  );

  let instance: Instance;
  try {
    instance = await startInstance(config, { role: values.role, logger: log, version: ver });
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    log.fatal({ err: e }, `cannot start: ${m}`);
    cli.flush();
    io.err(`flowgate: cannot start: ${m}\n`);
    return 1;
  }

  const lines = [
    `flowgate ${ver} (node ${process.version}), configuration ${values.config ?? DEFAULT_CONFIG_NAME}, data in ${config.data_dir}`,
  ];
  for (const r of instance.elements)
    lines.push(`${r.config.name}: listening on ${r.listeners.map(formatListen).join(', ')}`);
  lines.push(...phoneHint(instance));
  if (instance.management !== undefined) {
    // where the token is, never the token itself (this goes to terminals and journals)
    const url = instance.management.url;
    const tokenFile = instance.managementTokenFile;
    const ctl =
      tokenFile !== undefined
        ? `flowgate ctl --url ${url} --data-dir ${config.data_dir}`
        : `flowgate ctl --url ${url}${values.config === undefined ? '' : ` -c ${values.config}`}`;
    lines.push(
      `management: ${url} (${ctl} health | bindings | flows | stats)`,
      tokenFile !== undefined
        ? `  token: in ${tokenFile} (send Authorization: Bearer <token>; ctl reads it there)`
        : `  token: management.token of ${values.config ?? DEFAULT_CONFIG_NAME}`,
    );
  }
  io.err(`${lines.join('\n')}\n`);

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: exiting now');
        cli.flush();
        resolve(1);
        return;
      }
      stopping = true;
      log.info({ signal }, 'stopping: no new connections; open transactions get up to 5 s');
      const hard = setTimeout(() => {
        log.error('stopping took too long: exiting');
        cli.flush();
        resolve(1);
      }, 15_000);
      hard.unref();
      instance.stop().then(
        () => {
          clearTimeout(hard);
          log.info('stopped');
          cli.flush();
          resolve(0);
        },
        (e: unknown) => {
          clearTimeout(hard);
          log.error({ err: e }, 'error while stopping');
          cli.flush();
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', () => {
      cli.reopen();
      log.info(
        { signal: 'SIGHUP', file: config.log.file ?? null },
        config.log.file === undefined
          ? 'SIGHUP: logging to stdout, nothing to reopen; configuration is not reloaded (restart to apply changes)'
          : 'SIGHUP: log file reopened; configuration is not reloaded (restart to apply changes)',
      );
    });
    process.on('uncaughtException', (e) => {
      log.fatal({ err: e }, `uncaught exception: ${e.message}`);
      cli.flush();
      resolve(1);
    });
    process.on('unhandledRejection', (e) => {
      log.fatal({ err: e }, 'unhandled promise rejection');
      cli.flush();
      resolve(1);
    });
  });
}

async function cmdCtl(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string', short: 'c' },
      'data-dir': { type: 'string' },
      json: { type: 'boolean' },
      element: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
      transport: { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [command, ...args] = positionals;
  if (command === undefined) return usageError(io, `ctl needs a command\n${CTL_USAGE}`);
  let url = values.url ?? process.env['FLOWGATE_URL'];
  let token = values.token ?? process.env['FLOWGATE_TOKEN'];
  let tokenHint: string | undefined;
  // the file of -c, or the embedded default: where the API listens and where data_dir is
  let c: Config;
  try {
    c = loadConfig(values.config, { dataDir: values['data-dir'] });
  } catch (e) {
    if (e instanceof ConfigError) {
      printIssues(io, e.issues);
      return 1;
    }
    throw e;
  }
  const l = c.management.listen;
  if (url === undefined && l !== undefined) {
    const host = l.host === '0.0.0.0' ? '127.0.0.1' : l.host === '::' ? '::1' : l.host;
    url = `http://${host.includes(':') ? `[${host}]` : host}:${l.port}`;
  }
  token ??= c.management.token;
  if (token === undefined) {
    // issue 10 §6: flowgate start generated one into the data directory
    const t = readTokenFile(c.data_dir);
    if (t.token !== undefined) token = t.token;
    else tokenHint = t.why;
  }
  const r = await runCtl(
    { url: url ?? 'http://127.0.0.1:8081', token, tokenHint },
    {
      command,
      args,
      json: values.json === true,
      element: values.element,
      limit: values.limit,
      cursor: values.cursor,
      transport: values.transport,
    },
  );
  if (r.stdout !== '') io.out(r.stdout);
  if (r.stderr !== '') io.err(r.stderr);
  return r.code;
}

/** Runs the CLI; resolves with the exit code. */
export async function main(argv: readonly string[], io: Io = stdio): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'start':
        return await cmdStart(io, rest);
      case 'check':
        return await cmdCheck(io, rest);
      case 'ctl':
        return await cmdCtl(io, rest);
      case 'user':
        return await runUser(io, rest);
      case 'version':
      case '--version':
      case '-v':
        io.out(`flowgate ${version()} (node ${process.version})\n`);
        return 0;
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.out(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        return usageError(io, `unknown command '${cmd}'`);
    }
  } catch (e) {
    // parseArgs: unknown option, missing value
    if (
      e instanceof TypeError &&
      'code' in e &&
      String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS')
    )
      return usageError(io, e.message);
    throw e;
  }
}

function isEntryPoint(): boolean {
  const arg = process.argv[1];
  if (arg === undefined) return false;
  try {
    // the npm bin is a symlink: compare real paths
    return pathToFileURL(realpathSync(arg)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(
        `flowgate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
      );
      process.exit(1);
    },
  );
}
