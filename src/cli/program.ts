import { UsageError } from './args.js';
import { CFG_HELP, runCfg } from './cfg.js';
import { CHECK_HELP, cmdCheck } from './check.js';
import { CTL_USAGE, ctlHelp } from './ctl.js';
import { cmdCtl } from './ctl-command.js';
import { type Io, stdio, usageError } from './io.js';
import { cmdStart, START_HELP } from './start.js';
import { runUser, userHelp } from './user.js';
import { cmdVersion, VERSION_HELP } from './version.js';

export { CHECK_HELP } from './check.js';
export type { Io } from './io.js';
export { START_HELP } from './start.js';
export { VERSION_HELP, version } from './version.js';

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

/** `flowgate help --help` */
export const HELP_HELP = `Usage: flowgate help [command [subcommand]]

Prints the overview, or the help of a command (options and examples): the same text as
flowgate <command> --help.

Examples:
  flowgate help start
  flowgate help ctl bindings
  flowgate help user add`;

const COMMANDS = ['start', 'check', 'ctl', 'user', 'cfg', 'version', 'help'];

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
      case 'cfg':
        // one subcommand, and `flowgate cfg translate --help` prints the same text
        return sub === undefined || sub === 'translate' ? CFG_HELP : undefined;
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
      case '-v':
        return cmdVersion(io, rest);
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
