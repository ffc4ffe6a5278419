#!/usr/bin/env node
import { readFileSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { checkConfig } from '../config/check.js';
import { ConfigError, type ConfigIssue, formatIssue } from '../config/errors.js';
import { formatListen } from '../config/listen.js';
import { DEFAULT_CONFIG_NAME, loadConfig } from '../config/load.js';
import type { Config, LogLevel } from '../config/types.js';
import { parseCommandArgs, UsageError } from './args.js';
import { runCfg, takeCfgOptions } from './cfg.js';
import { CTL_USAGE, ctlArgsProblem, ctlHelp, readTokenFile, runCtl } from './ctl.js';
import { type Instance, startInstance } from './instance.js';
import { createCliLogger } from './logger.js';
import { reloadTlsLogged } from './tls-reload.js';
import { runTrace } from './trace.js';
import { runUser, userHelp } from './user.js';

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
      --set key=value (repeatable) changes a key of it: one file for several processes.
      JSON logs go to stdout; where it listens and how to point a phone at it go to stderr.
      SIGTERM/SIGINT stop gracefully (transactions get 5 s); SIGHUP reopens log.file and reads
      the TLS certificate and key again (open flows keep theirs).
  flowgate check [--data-dir dir] [--no-port-check] [--set key=value]... <file>
      Validate a configuration without starting: schema, scripts, TLS files, data_dir, that each
      listener's address is on this host and its port free; every problem at once (exit 0 / 1).
  flowgate ctl [--url u] [--token t] [-c file] [--data-dir dir] [--json] <command> [args]
      Talk to a running instance through its management API (like kamcmd); the token is read
      from the data directory flowgate start wrote it to (<data dir>/management.token).
  flowgate user add|passwd|remove <user@domain> [-c file] [--data-dir dir] [--password-stdin]
  flowgate user list [-c file] [--data-dir dir] [--domain d] [--json]
      Manage the users digest authentication checks, in the store the server of -c reads
      (flowgate user help for more).
  flowgate cfg translate [-A NAME] <file.cfg>
      Print a Kamailio configuration's routes as a TypeScript script (start and check run a .cfg
      file as it is: flowgate start -c edge.cfg; docs/kamailio-cfg.md).
  flowgate version
      Print the flowgate and Node.js versions.
  flowgate help [command [subcommand]]
      This help, or a command's: its options and examples (as flowgate <command> --help).

${CTL_USAGE.replace(/^/gm, '  ').replace(/^ {2}(Commands|Options):/gm, 'ctl $1:')}

Log levels: trace, debug, info, warn, error, fatal, silent.
Every command and subcommand answers -h / --help (flowgate start --help, flowgate ctl bindings -h).
Configuration reference: docs/configuration.md; example: examples/flowgate.yaml.`;

const LEVELS: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** `flowgate start --help` */
export const START_HELP = `Usage: flowgate start [-c file] [--role name] [--set key=value]... [options]

Runs the SIP elements of a configuration and its management API (without -c: the built-in edge +
registrar on 127.0.0.1). First it checks what flowgate check checks (scripts, TLS files, data_dir,
each listener's address and port) and starts nothing when something is wrong; it creates data_dir
(mode 0700) when it does not exist. JSON logs go to stdout (or log.file); where it listens and how
to point a phone at it go to stderr. SIGTERM/SIGINT stop gracefully (transactions get 5 s); SIGHUP
reopens log.file and reads the TLS certificate and key again (open flows keep theirs).

Options:
  -c, --config FILE    the configuration file (default: the built-in one, as examples/flowgate.yaml)
  --role NAME          run only this element of the file: one role per process, as Kamailio is
                       deployed (e.g. --role edge on the public host, --role registrar behind it)
  --set KEY=VALUE      change one key of the configuration as if the file said so: a dotted path
                       and a YAML value (--set management.listen=127.0.0.1:8082), checked as the
                       file is; repeatable. One file for several processes: each gets its own
                       management.listen and data_dir (docs/configuration.md)
  --data-dir DIR       keys, tokens and SQLite files (default: data_dir of the file, else ./.data)
  --log-level LEVEL    ${LEVELS.join(', ')}
                       (default: log.level; change it at run time with flowgate ctl loglevel)
  --pretty             human-readable log lines instead of JSON
  -A, --define NAME    a .cfg preprocessor define (NAME or NAME=VALUE), as Kamailio's -A; repeatable
  -l, --listen ADDR    listen here instead of the .cfg's listen= lines, as Kamailio's -l; repeatable
  -h, --help           this help

Examples:
  flowgate start
  flowgate start -c /etc/flowgate/flowgate.yaml --role edge --data-dir /var/lib/flowgate
  flowgate start -c host.yaml --role edge --set management.listen=127.0.0.1:8083 --pretty

Exit status: 0 stopped by SIGTERM/SIGINT, 1 configuration problem or start failure, 2 usage.`;

/** `flowgate check --help` */
export const CHECK_HELP = `Usage: flowgate check [--data-dir dir] [--no-port-check] [--set key=value]... <file>
       flowgate check [options] -c <file>

Validates a configuration without starting it and reports every problem at once, each with
file:line:col and what to do: the schema and values, script files (they must load and export a
script), TLS files (readable, PEM, the key belongs to the certificate, not expired), data_dir (a
writable directory, or one flowgate start can create; check creates nothing), and each listener
and the management API: the address must be one of this host's and the port free (bound and
released at once).

Options:
  -c, --config FILE    the file to check (instead of the argument)
  --data-dir DIR       check this data directory instead of data_dir of the file (as given to start)
  --no-port-check      do not try the ports (for the file of a server that runs and holds them);
                       the addresses are still checked
  --set KEY=VALUE      check the configuration with this key changed, as flowgate start --set
                       changes it (a dotted path and a YAML value); repeatable
  -A, --define NAME    a .cfg preprocessor define (NAME or NAME=VALUE), as Kamailio's -A; repeatable
  -l, --listen ADDR    check these listeners instead of the .cfg's listen= lines; repeatable
  -h, --help           this help

Examples:
  flowgate check examples/flowgate.yaml
  flowgate check host.yaml --set management.listen=127.0.0.1:8083 --set data_dir=edge2.data
  flowgate check --no-port-check /etc/flowgate/flowgate.yaml

Exit status: 0 OK, 1 problems found (listed on stderr), 2 usage.`;

/** `flowgate version --help` */
export const VERSION_HELP = `Usage: flowgate version    (or --version, -v)

Prints the flowgate version and the Node.js version it runs on.

Examples:
  flowgate version`;

/** `flowgate help --help` */
export const HELP_HELP = `Usage: flowgate help [command [subcommand]]

Prints the overview, or the help of a command (options and examples): the same text as
flowgate <command> --help.

Examples:
  flowgate help start
  flowgate help ctl bindings
  flowgate help user add`;

const COMMANDS = ['start', 'check', 'ctl', 'user', 'version', 'help'];

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

/** A usage mistake: the message, where the command's help is; exit 2. */
function usageError(io: Io, m: string, command?: string): number {
  io.err(
    `flowgate${command === undefined ? '' : ` ${command}`}: ${m}\nRun 'flowgate ${command === undefined ? 'help' : `${command} --help`}' for usage.\n`,
  );
  return 2;
}

/** `flowgate help [command [subcommand]]` */
function cmdHelp(io: Io, argv: readonly string[]): number {
  const [cmd, sub, ...more] = argv;
  const text = (): string | undefined => {
    switch (cmd) {
      case undefined:
        return USAGE;
      case 'start':
        return sub === undefined ? START_HELP : undefined;
      case 'check':
        return sub === undefined ? CHECK_HELP : undefined;
      case 'version':
        return sub === undefined ? VERSION_HELP : undefined;
      case 'help':
        return sub === undefined ? HELP_HELP : undefined;
      case 'ctl':
        return ctlHelp(sub);
      case 'user':
        return userHelp(sub);
      default:
        return undefined;
    }
  };
  const t = more.length > 0 ? undefined : text();
  if (t === undefined) {
    if (cmd !== undefined && !COMMANDS.includes(cmd))
      return usageError(io, `no command '${cmd}' (commands: ${COMMANDS.join(', ')})`);
    return usageError(io, `no help for '${argv.join(' ')}': ${cmd} has no subcommand '${sub}'`);
  }
  io.out(`${t}\n`);
  return 0;
}

async function cmdCheck(io: Io, args: string[]): Promise<number> {
  // -A NAME / -l ADDRESS: Kamailio's options for a .cfg file (src/cli/cfg.ts)
  const { argv, defines, listen } = takeCfgOptions('check', args);
  const { values, positionals } = parseCommandArgs('check', argv, {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    'no-port-check': { type: 'boolean' },
    set: { type: 'string', multiple: true },
  });
  if (values.help === true) {
    io.out(`${CHECK_HELP}\n`);
    return 0;
  }
  const file = values.config ?? positionals[0];
  if (file === undefined) return usageError(io, 'which file? flowgate check <file>', 'check');
  if (positionals.length > (values.config === undefined ? 1 : 0))
    return usageError(io, `check takes one file (got '${positionals.join(' ')}')`, 'check');
  let config: Config;
  try {
    config = loadConfig(file, { dataDir: values['data-dir'], defines, listen, set: values.set });
  } catch (e) {
    if (e instanceof ConfigError) {
      printIssues(io, e.issues);
      io.err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in ${file}\n`);
      return 1;
    }
    throw e;
  }
  const issues = await checkConfig(config, {
    ports: values['no-port-check'] !== true,
    dataDirFrom: values['data-dir'] === undefined ? undefined : '--data-dir',
  });
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
    if (el.script.kind === 'file') for (const n of el.script.notes ?? []) io.out(`  note: ${n}\n`);
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

async function cmdStart(io: Io, args: string[]): Promise<number> {
  // -A NAME / -l ADDRESS: Kamailio's options for a .cfg file (src/cli/cfg.ts)
  const { argv, defines, listen } = takeCfgOptions('start', args);
  const { values, positionals } = parseCommandArgs('start', argv, {
    config: { type: 'string', short: 'c' },
    role: { type: 'string' },
    'data-dir': { type: 'string' },
    'log-level': { type: 'string' },
    pretty: { type: 'boolean' },
    set: { type: 'string', multiple: true },
  });
  if (values.help === true) {
    io.out(`${START_HELP}\n`);
    return 0;
  }
  if (positionals.length > 0)
    return usageError(
      io,
      `start takes no arguments (got '${positionals.join(' ')}'); use -c <file>`,
      'start',
    );
  const level = values['log-level'];
  if (level !== undefined && !LEVELS.includes(level))
    return usageError(
      io,
      `--log-level: expected one of ${LEVELS.join(', ')}, got '${level}'`,
      'start',
    );
  let config: Config;
  try {
    config = loadConfig(values.config, {
      dataDir: values['data-dir'],
      logLevel: level as LogLevel | undefined,
      pretty: values.pretty,
      defines,
      listen,
      set: values.set,
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
  const issues = await checkConfig(config, {
    elements: values.role === undefined ? undefined : [values.role],
    dataDirFrom: values['data-dir'] === undefined ? undefined : '--data-dir',
  });
  if (issues.length > 0) {
    printIssues(io, issues);
    io.err(
      `flowgate: not started: ${issues.length} problem${issues.length === 1 ? '' : 's'} in ${values.config ?? DEFAULT_CONFIG_NAME}\n`,
    );
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
      // the keys only: a value may be a secret
      set: values.set?.map((s) => s.slice(0, Math.max(0, s.indexOf('=')))),
    },
    'flowgate starting',
  );

  let instance: Instance;
  try {
    instance = await startInstance(config, {
      role: values.role,
      logger: log,
      version: ver,
      logLevel: cli,
    });
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
      // certificate renewal: TLS/WSS files read again, open flows keep theirs
      reloadTlsLogged(instance.elements, log, 'SIGHUP');
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
  const { values, positionals } = parseCommandArgs('ctl', argv, {
    url: { type: 'string' },
    token: { type: 'string' },
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    json: { type: 'boolean' },
    element: { type: 'string' },
    limit: { type: 'string' },
    cursor: { type: 'string' },
    transport: { type: 'string' },
    aor: { type: 'string' },
    'call-id': { type: 'string' },
    count: { type: 'string' },
  });
  const [command, ...args] = positionals;
  if (values.help === true || command === 'help') {
    // `ctl --help`, `ctl bindings --help`, `ctl help [bindings]`: no server needed
    const which = values.help === true ? command : args[0];
    if (values.help !== true && args.length > 1)
      return usageError(io, 'help takes at most one command', 'ctl');
    const h = ctlHelp(which);
    if (h === undefined) return usageError(io, `no ctl command '${which}'`, 'ctl');
    io.out(`${h}\n`);
    return 0;
  }
  if (command === undefined) {
    io.err(`flowgate ctl: which command?\n${CTL_USAGE}\n`);
    return 2;
  }
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
  const ctlArgs = {
    command,
    args,
    json: values.json === true,
    element: values.element,
    limit: values.limit,
    cursor: values.cursor,
    transport: values.transport,
    aor: values.aor,
    callId: values['call-id'],
    count: values.count,
  };
  const target = { url: url ?? 'http://127.0.0.1:8081', token, tokenHint };
  if (command === 'trace') {
    // a stream until Ctrl-C (or --count): not a request and an answer
    const problem = ctlArgsProblem(ctlArgs);
    if (problem !== undefined) {
      io.err(
        `flowgate ctl: ${problem.message}${problem.code === 2 ? "\nRun 'flowgate ctl help trace' for usage." : ''}\n`,
      );
      return problem.code;
    }
    if (args.length > 0)
      return usageError(io, `trace takes no arguments (got '${args.join(' ')}')`, 'ctl trace');
    const ac = new AbortController();
    const onSignal = (): void => ac.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      return await runTrace(
        target,
        {
          element: values.element,
          aor: values.aor,
          callId: values['call-id'],
          count: values.count === undefined ? undefined : Number(values.count),
          json: values.json === true,
        },
        { out: (s) => io.out(s), err: (s) => io.err(s), signal: ac.signal },
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  const r = await runCtl(target, ctlArgs);
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
      case 'cfg':
        return await runCfg(io, rest);
      case 'version':
      case '--version':
      case '-v': {
        const { values, positionals } = parseCommandArgs('version', rest, {});
        if (values.help === true) {
          io.out(`${VERSION_HELP}\n`);
          return 0;
        }
        if (positionals.length > 0)
          return usageError(
            io,
            `version takes no arguments (got '${positionals.join(' ')}')`,
            'version',
          );
        io.out(`flowgate ${version()} (node ${process.version})\n`);
        return 0;
      }
      case 'help':
        return cmdHelp(io, rest);
      case undefined:
      case '--help':
      case '-h':
        io.out(`${USAGE}\n`);
        return cmd === undefined ? 2 : 0;
      default:
        return usageError(
          io,
          cmd.startsWith('-')
            ? `unknown option '${cmd}': options go after the command (commands: ${COMMANDS.join(', ')})`
            : `unknown command '${cmd}' (commands: ${COMMANDS.join(', ')})`,
        );
    }
  } catch (e) {
    if (e instanceof UsageError) return usageError(io, e.message, e.command);
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
