import { CTL_COMMANDS, CTL_TRANSPORTS, type CtlCommand, type CtlOption } from './ctl-commands.js';

// The help texts of `flowgate ctl` and of each ctl command.

const OPTION_HELP: Readonly<Record<CtlOption, string>> = {
  element: '--element NAME   only this element (ctl elements lists them)',
  transport: `--transport T    only flows of this transport: ${CTL_TRANSPORTS.join(', ')}`,
  limit: '--limit N        at most N bindings per page (1..1000, default 100)',
  cursor: '--cursor C       the page after the one that printed "more: --cursor C"',
  aor: '--aor AOR        only messages of this user: alice, alice@example.com or sip:…',
  'call-id': '--call-id ID     only messages of this call',
  count: '--count N        stop after N messages',
};

/** The value a command-line option takes, as its help names it. */
const OPTION_VALUE: Readonly<Record<CtlOption, string>> = {
  element: 'name',
  transport: 't',
  limit: 'n',
  cursor: 'c',
  aor: 'aor',
  'call-id': 'id',
  count: 'n',
};

/** The options every ctl command takes. */
const COMMON_OPTIONS = `  --url URL        management API (default http://127.0.0.1:8081, or management.listen of -c file)
  --token T        bearer token (default: $FLOWGATE_TOKEN, else management.token of -c file, else
                   the token flowgate start generated: <data dir>/management.token)
  -c, --config F   read the URL, the token and the data directory from this configuration file
  --data-dir DIR   the server's data directory, as given to flowgate start (default: data_dir of
                   -c file, or ./.data); its management.token is read when no token is given
  --json           print the API's JSON instead of a table`;

function commandLine(name: string, c: CtlCommand): string {
  const opts = c.options.filter((o) => o !== 'cursor').map((o) => `[--${o} ${OPTION_VALUE[o]}]`);
  return [name, c.args, ...opts].filter((x) => x !== '').join(' ');
}

/** The ctl commands and what they take. */
export const CTL_USAGE = `Commands:
${Object.entries(CTL_COMMANDS)
  .map(([name, c]) => {
    const left = `  ${commandLine(name, c)}`;
    return left.length < 31
      ? `${left.padEnd(31)}${c.summary}`
      : `${left}\n${' '.repeat(31)}${c.summary}`;
  })
  .join('\n')}
Options:
${COMMON_OPTIONS}
  --element NAME   only this element (every command but health and help)
  --transport T    only this transport (flows): ${CTL_TRANSPORTS.join(', ')}
  --aor A, --call-id ID, --count N   what ctl trace shows, and how many
  -h, --help       help; flowgate ctl help <command> for a command's, with examples`;

/** Help of `flowgate ctl`, or of one ctl command (undefined: no such command). */
export function ctlHelp(command?: string): string | undefined {
  if (command === undefined)
    return `Usage: flowgate ctl [options] <command> [args]

Talks to a running flowgate through its management API (like kamcmd / kamctl). The URL and the
token come from the options, the environment ($FLOWGATE_URL, $FLOWGATE_TOKEN) or the same -c /
--data-dir flowgate start was given.

${CTL_USAGE}

Examples:
  flowgate ctl bindings
  flowgate ctl --data-dir /var/lib/flowgate flows --transport tcp
  flowgate ctl -c /etc/flowgate/flowgate.yaml loglevel debug --element edge

Exit status: 0 done, 1 failed (unreachable, refused, not found, bad value), 2 usage.`;
  const c = Object.hasOwn(CTL_COMMANDS, command) ? CTL_COMMANDS[command] : undefined;
  if (c === undefined) return undefined;
  const own = c.options.map((o) => `  ${OPTION_HELP[o]}`);
  return `Usage: flowgate ctl [options] ${commandLine(command, c)}${c.options.includes('cursor') ? ' [--cursor c]' : ''}

${c.about}

Options:
${[...own, COMMON_OPTIONS, '  -h, --help       this help'].join('\n')}

Examples:
${c.examples.map((e) => `  ${e}`).join('\n')}`;
}
