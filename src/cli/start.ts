import { checkConfig } from '../config/check.js';
import { ConfigError } from '../config/errors.js';
import { formatListen } from '../config/listen.js';
import { DEFAULT_CONFIG_NAME, loadConfig } from '../config/load.js';
import type { Config, LogLevel } from '../config/types.js';
import { heapTuning } from '../util/heap-tuning.js';
import { lowerHelperThreads } from '../util/thread-priority.js';
import { parseCommandArgs } from './args.js';
import { takeCfgOptions } from './cfg.js';
import { type Instance, startInstance } from './instance.js';
import { type Io, printIssues, usageError } from './io.js';
import { createCliLogger } from './logger.js';
import { reloadTlsLogged } from './tls-reload.js';
import { version } from './version.js';
import { warmUp, warmupStore } from './warmup.js';

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

/** `flowgate start`: runs until SIGTERM/SIGINT; resolves with the exit code. */
export async function cmdStart(io: Io, args: string[]): Promise<number> {
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
      // V8 heap settings (src/util/heap-tuning.ts; cli/early-heap.ts made them before this)
      heap: heapTuning(),
    },
    'flowgate starting',
  );

  if (config.warmup > 0) {
    // before the listeners open: the first second of load meets optimized code (src/cli/warmup.ts)
    const w = await warmUp(config.warmup, undefined, warmupStore(config, values.role));
    if ('failed' in w) log.warn(`warm-up skipped: ${w.failed}`);
    else if (w.stopped !== undefined)
      log.warn(
        { registers: w.registers, ms: w.ms, stopped: w.stopped },
        `warm-up stopped after ${w.registers} of ${config.warmup} REGISTERs (${w.stopped}); starting anyway`,
      );
    else
      log.info(
        { registers: w.registers, ms: w.ms, store: w.store, probes: w.probes },
        `warmed up: ${w.registers} REGISTERs and ${w.probes} registrar probes through a private edge + registrar (${w.store} store) in ${w.ms} ms`,
      );
  }

  // after the warm-up (its compilations ran at full priority), before the elements start: their
  // worker threads inherit the main thread's priority, not this one (src/util/thread-priority.ts)
  const nice = lowerHelperThreads(config.helper_threads_nice);
  if ('skipped' in nice) {
    if (nice.skipped !== 'off') log.info(`helper threads keep their priority: ${nice.skipped}`);
  } else
    log.info(
      { threads: nice.threads, nice: nice.nice, failed: nice.failed },
      `helper threads at nice ${nice.nice}: the event loop runs first when cores are short`,
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
  // the handlers go in before the banner: whoever waits for it (a supervisor, a test) may signal
  // at once, and a SIGTERM that finds no handler kills the process without a graceful stop
  const exited = new Promise<number>((resolve) => {
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
  io.err(`${lines.join('\n')}\n`);
  return await exited;
}
