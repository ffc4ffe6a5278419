import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANAGEMENT_TOKEN_FILE } from './instance.js';
import { duration, table } from './table.js';

/** Where the management API is and how to authenticate. */
export interface CtlTarget {
  readonly url: string;
  readonly token: string | undefined;
  /** Why no token was found, told when the API answers 401. */
  readonly tokenHint?: string | undefined;
}

/**
 * The token `flowgate start` generated in a data directory (`data_dir/management.token`), or why
 * it cannot be read.
 */
export function readTokenFile(
  dataDir: string,
): { readonly token: string } | { readonly token: undefined; readonly why: string } {
  const file = join(dataDir, MANAGEMENT_TOKEN_FILE);
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token !== '') return { token };
    return { token: undefined, why: `${file} is empty` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return {
        token: undefined,
        why: `no token given and no ${file}: pass --data-dir or -c as given to flowgate start, --token, or $FLOWGATE_TOKEN`,
      };
    if (code === 'EACCES')
      return {
        token: undefined,
        why: `cannot read ${file}: permission denied (run ctl as the user flowgate runs as, or pass --token)`,
      };
    return { token: undefined, why: `cannot read ${file}: ${(e as Error).message}` };
  }
}

/** Result of a ctl command: what to print and the exit code. */
export interface CtlOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Arguments of `flowgate ctl`. */
export interface CtlArgs {
  readonly command: string;
  readonly args: readonly string[];
  readonly json: boolean;
  readonly element: string | undefined;
  readonly limit: string | undefined;
  readonly cursor: string | undefined;
  readonly transport: string | undefined;
  /** `ctl trace`: only messages of this AoR, of this Call-ID; stop after this many. */
  readonly aor?: string | undefined;
  readonly callId?: string | undefined;
  readonly count?: string | undefined;
}

/** Options only some ctl commands take. */
type CtlOption = 'element' | 'transport' | 'limit' | 'cursor' | 'aor' | 'call-id' | 'count';

/** One ctl command: its arguments, what it does, which options it takes, examples. */
interface CtlCommand {
  /** Arguments after the command name (`[aor]`). */
  readonly args: string;
  /** One line for the command list. */
  readonly summary: string;
  /** What it does, for its own help. */
  readonly about: string;
  readonly options: readonly CtlOption[];
  readonly examples: readonly string[];
}

/** Transports `--transport` accepts. */
export const CTL_TRANSPORTS: readonly string[] = ['udp', 'tcp', 'tls', 'ws', 'wss'];

/** Levels `ctl loglevel` accepts. */
export const CTL_LOG_LEVELS: readonly string[] = [
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'fatal',
  'silent',
];

/** The ctl commands (in the order the help lists them). */
export const CTL_COMMANDS: Readonly<Record<string, CtlCommand>> = {
  health: {
    args: '',
    summary: 'is it up (exit 0) or stopping / unreachable (exit 1)',
    about:
      'Asks /health: "ok" with the uptime and the elements (exit 0), or "stopping" (exit 1). Exit 1\nalso when the API cannot be reached. For monitoring scripts and systemd ExecStartPost.',
    options: [],
    examples: ['flowgate ctl health', 'flowgate ctl --data-dir /var/lib/flowgate health'],
  },
  elements: {
    args: '',
    summary: 'the elements, their scripts, modules and listeners',
    about: 'Lists the SIP elements of the running process: script, listeners and loaded modules.',
    options: ['element'],
    examples: ['flowgate ctl elements', 'flowgate ctl elements --element edge --json'],
  },
  bindings: {
    args: '[aor]',
    summary: 'bindings: all (paged) or of one AoR (alice, sip:alice@example.com)',
    about:
      'Lists the bindings of the location store (Kamailio ul.dump / ul.show): AoR, time left,\ncontact, Path, reg-id, +sip.instance and ruid. With an AoR, only its bindings. PATH is\nshortened in the table (the flow token to its first characters, then … where cut); --json\nhas every field in full. More than --limit bindings: the last line gives the --cursor of the\nnext page.',
    options: ['element', 'limit', 'cursor'],
    examples: [
      'flowgate ctl bindings',
      'flowgate ctl bindings sip:alice@example.com --json',
      'flowgate ctl bindings --element registrar --limit 50',
    ],
  },
  unbind: {
    args: '<aor> [ruid]',
    summary: 'remove the bindings of an AoR, or one binding',
    about:
      'Removes every binding of an AoR, or the one with this ruid (from ctl bindings); the phone\nis unreachable until it registers again (Kamailio ul.rm / ul.rm_contact).',
    options: ['element'],
    examples: ['flowgate ctl unbind alice', 'flowgate ctl unbind sip:alice@example.com RUID'],
  },
  flows: {
    args: '',
    summary: 'live flows: transport, local, peer, age, last keep-alive, id',
    about:
      'Lists the flows (RFC 5626): each TCP, TLS or WebSocket connection, and each UDP peer seen\nrecently, with its age, the last keep-alive from the peer and its ID (for close-flow).',
    options: ['element', 'transport'],
    examples: [
      'flowgate ctl flows',
      'flowgate ctl flows --transport tcp',
      'flowgate ctl flows --element edge --json',
    ],
  },
  'close-flow': {
    args: '<id>',
    summary: 'close a connection flow (its ID from ctl flows)',
    about:
      'Closes a TCP, TLS or WebSocket flow, as if the peer had gone: the phone sees its\nconnection end and reconnects and registers again (RFC 5626 §4.4); until then calls to it fail\n(430 Flow Failed at the edge, 480 for the caller). A UDP flow has no connection to close.',
    options: ['element'],
    examples: ['flowgate ctl close-flow w0/c17', 'flowgate ctl close-flow w0/c17 --element edge'],
  },
  stats: {
    args: '',
    summary: 'counters per element',
    about:
      'Counters since start per element: requests, replies, transactions, flows, bindings,\nkeep-alives, 430s sent, flow-token failures, dropped messages, script errors.',
    options: ['element'],
    examples: ['flowgate ctl stats', 'flowgate ctl stats --element registrar --json'],
  },
  registrars: {
    args: '',
    summary: "an edge's registrars: up or down, since when, last probe",
    about:
      'Lists the registrars of each edge (edge.registrar: a list, or the addresses a name resolves\nto) with their state: up (requests go to it) or down (skipped until it answers an OPTIONS\nprobe), since when, the last probe and its outcome, failures in a row, and how many requests\nleft it for the next registrar (Kamailio dispatcher.list).',
    options: ['element'],
    examples: ['flowgate ctl registrars', 'flowgate ctl registrars --element edge --json'],
  },
  loglevel: {
    args: '[level]',
    summary: 'show the log level, or set it until restart (process or element)',
    about: `Without a level: the level of the process and of each element. With one, sets it until the\nnext restart (the file's log.level applies again then), for the whole process or, with\n--element, for one element's lines. Levels: ${CTL_LOG_LEVELS.join(', ')}.`,
    options: ['element'],
    examples: [
      'flowgate ctl loglevel',
      'flowgate ctl loglevel debug --element edge',
      'flowgate ctl loglevel info',
    ],
  },
  'reload-tls': {
    args: '',
    summary: 'read the TLS certificate and key again (renewal; open flows stay)',
    about:
      'Reads the tls: files (cert, key, ca) of every element again, as SIGHUP (systemctl reload)\ndoes: new TLS and WSS connections get the new certificate, open ones keep theirs, so no flow\ndrops. Files that cannot be read or do not fit together change nothing (exit 1, and why).',
    options: [],
    examples: ['flowgate ctl reload-tls', 'flowgate ctl --data-dir /var/lib/flowgate reload-tls'],
  },
  capture: {
    args: '[on|off]',
    summary: 'HEP capture (siptrace): show it, or switch it on or off',
    about:
      'Without an argument: per element, whether it captures to its HEP collector (modules.siptrace),\nwhere to, and the packets sent and dropped. on / off switches capture of every element that\nloads siptrace, or with --element of one, until the next restart (Kamailio siptrace.status).',
    options: ['element'],
    examples: [
      'flowgate ctl capture',
      'flowgate ctl capture off --element edge',
      'flowgate ctl capture on',
    ],
  },
  trace: {
    args: '',
    summary: 'live SIP messages as they flow, filtered (a small sngrep)',
    about:
      "Prints every SIP message the elements receive and send, as they flow: time, element,\ndirection, transport, source and destination, then the message. --aor shows the messages of\none user (From, To or request URI) and the rest of their calls; --call-id those of one call.\nRuns until Ctrl-C or --count messages; --json prints the API's JSON lines.",
    options: ['element', 'aor', 'call-id', 'count'],
    examples: [
      'flowgate ctl trace --aor alice',
      'flowgate ctl trace --call-id a84b4c76e66710 --element edge',
      'flowgate ctl trace --count 20 --json',
    ],
  },
  help: {
    args: '[command]',
    summary: "this list, or a command's help",
    about: "Prints the ctl commands, or one command's help with examples.",
    options: [],
    examples: ['flowgate ctl help', 'flowgate ctl help bindings'],
  },
};

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

/**
 * What is wrong with the command and the options given, before anything is sent: an unknown
 * command or an option it does not take is a usage error (exit 2); a value not among the allowed
 * ones is exit 1, naming them.
 */
export function ctlArgsProblem(a: CtlArgs): { message: string; code: 1 | 2 } | undefined {
  const c = Object.hasOwn(CTL_COMMANDS, a.command) ? CTL_COMMANDS[a.command] : undefined;
  if (c === undefined)
    return {
      message: `unknown command '${a.command}' (commands: ${Object.keys(CTL_COMMANDS).join(', ')})`,
      code: 2,
    };
  const given: [CtlOption, string | undefined][] = [
    ['element', a.element],
    ['transport', a.transport],
    ['limit', a.limit],
    ['cursor', a.cursor],
    ['aor', a.aor],
    ['call-id', a.callId],
    ['count', a.count],
  ];
  for (const [o, v] of given) {
    if (v === undefined || c.options.includes(o)) continue;
    const takers = Object.entries(CTL_COMMANDS)
      .filter(([, x]) => x.options.includes(o))
      .map(([n]) => n);
    return {
      message: `--${o} does not apply to '${a.command}' (only to ${takers.join(', ')})`,
      code: 2,
    };
  }
  if (a.transport !== undefined && !CTL_TRANSPORTS.includes(a.transport.toLowerCase()))
    return {
      message: `--transport ${a.transport}: no such transport (expected one of ${CTL_TRANSPORTS.join(', ')})`,
      code: 1,
    };
  if (a.element === '') return { message: '--element needs an element name', code: 2 };
  if (a.count !== undefined && !/^[1-9]\d{0,8}$/.test(a.count))
    return { message: `--count ${a.count}: expected a positive whole number`, code: 1 };
  return undefined;
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

async function call(
  t: CtlTarget,
  method: string,
  path: string,
  payload?: Record<string, unknown>,
): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t.token !== undefined) headers['authorization'] = `Bearer ${t.token}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const url = `${t.url.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message;
    throw new Error(
      `cannot reach flowgate at ${t.url}${cause === undefined ? '' : ` (${cause})`}: is it running, and is --url right?`,
    );
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics and errors from a proxy in between are not JSON
  }
  return { status: res.status, body };
}

function qs(params: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));

/** Widest PATH the bindings table shows. */
const PATH_WIDTH = 48;

/**
 * A binding's Path for the table: each entry's user part (the edge's flow token) cut to its first
 * six characters, the whole at most {@link PATH_WIDTH} characters; `…` marks every cut.
 */
export function shortPath(path: readonly string[], width = PATH_WIDTH): string {
  if (path.length === 0) return '-';
  const s = path
    .map((p) =>
      p.replace(
        /^(<?sips?:)([^@>;]{9,})@/i,
        (_m, a: string, u: string) => `${a}${u.slice(0, 6)}…@`,
      ),
    )
    .join(',');
  return s.length <= width ? s : `${s.slice(0, width - 1)}…`;
}

function render(command: string, body: unknown): string {
  const b = obj(body);
  switch (command) {
    case 'reload-tls':
      return arr(b['elements'])
        .map(
          (e) =>
            `${str(e['element'])}: reloaded ${str(e['subject'])}, valid until ${str(e['valid_to'])}, sha256 ${str(e['fingerprint256'])}`,
        )
        .join('\n');
    case 'health':
      return `${str(b['status'])} (up ${duration(Number(b['uptime'] ?? 0))}; elements: ${Array.isArray(b['elements']) ? (b['elements'] as unknown[]).join(', ') : '-'})`;
    case 'elements':
      return table(
        ['ELEMENT', 'SCRIPT', 'LISTEN', 'MODULES'],
        arr(b['elements']).map((e) => [
          str(e['name']),
          str(e['script']),
          arr(e['listen'])
            .map(
              (l) =>
                `${str(l['transport'])}:${String(l['address']).includes(':') ? `[${str(l['address'])}]` : str(l['address'])}:${str(l['port'])}`,
            )
            .join(' '),
          Array.isArray(e['modules']) ? (e['modules'] as unknown[]).join(',') : '',
        ]),
      );
    case 'bindings': {
      const rows = arr(b['bindings']).map((x) => [
        str(x['aor']),
        duration(Number(x['expires_in'] ?? 0)),
        str(x['contact']),
        shortPath(Array.isArray(x['path']) ? x['path'].map(String) : []),
        x['reg_id'] === 0 ? '-' : str(x['reg_id']),
        str(x['instance']),
        str(x['ruid']),
      ]);
      const t =
        rows.length === 0
          ? 'no bindings'
          : table(['AOR', 'EXPIRES', 'CONTACT', 'PATH', 'REG-ID', 'INSTANCE', 'RUID'], rows);
      const next = b['next'];
      return typeof next === 'string' ? `${t}\nmore: --cursor ${next}` : t;
    }
    case 'unbind':
      return `removed ${str(b['removed'])} binding(s)`;
    case 'capture': {
      const rows = arr(b['elements']).map((e) =>
        e['loaded'] !== true
          ? [str(e['element']), 'not loaded', '-', '-', '-', '-', '-']
          : [
              str(e['element']),
              e['enabled'] === true ? 'on' : 'off',
              str(e['collector']),
              str(e['hep_capture_id']),
              str(e['sent']),
              str(e['dropped']),
              e['error'] != null ? str(e['error']) : e['connected'] === true ? 'yes' : 'no',
            ],
      );
      return table(['ELEMENT', 'CAPTURE', 'COLLECTOR', 'ID', 'SENT', 'DROPPED', 'CONNECTED'], rows);
    }
    case 'close-flow': {
      const f = obj(b['closed']);
      return `closed flow ${str(f['id'])} (${str(f['element'])}, ${str(f['transport'])} from ${str(f['peer'])} to ${str(f['local'])})`;
    }
    case 'loglevel': {
      const els = Object.entries(obj(b['elements']));
      const head = `process: ${str(b['level'])}`;
      return els.length === 0
        ? head
        : `${head}\n${table(
            ['ELEMENT', 'LEVEL'],
            els.map(([n, l]) => [n, str(l)]),
          )}`;
    }
    case 'registrars': {
      const rows = arr(b['registrars']).map((r) => [
        str(r['element']),
        str(r['uri']),
        str(r['state']),
        duration(Number(r['for_s'] ?? 0)),
        r['last_probe'] === null ? '-' : str(r['last_probe']),
        str(r['last_result']),
        str(r['failures']),
        str(r['failovers']),
      ]);
      return rows.length === 0
        ? 'no registrar sets (only an edge has one)'
        : table(
            [
              'ELEMENT',
              'REGISTRAR',
              'STATE',
              'FOR',
              'LAST PROBE',
              'RESULT',
              'FAILURES',
              'FAILOVERS',
            ],
            rows,
          );
    }
    case 'flows': {
      const rows = arr(b['flows']).map((f) => [
        str(f['element']),
        str(f['transport']),
        str(f['local']),
        str(f['peer']),
        duration(Number(f['age'] ?? 0)),
        f['last_keepalive'] === null ? '-' : `${duration(Number(f['last_keepalive']))} ago`,
        str(f['state']),
        str(f['id']),
      ]);
      return rows.length === 0
        ? 'no flows'
        : table(['ELEMENT', 'TRANSPORT', 'LOCAL', 'PEER', 'AGE', 'KEEPALIVE', 'STATE', 'ID'], rows);
    }
    case 'stats': {
      const lines = [`uptime ${duration(Number(b['uptime'] ?? 0))}, version ${str(b['version'])}`];
      for (const [name, v] of Object.entries(obj(b['elements']))) {
        const e = obj(v);
        const kv = (o: unknown): string => {
          const entries = Object.entries(obj(o));
          return entries.length === 0 ? '-' : entries.map(([k, n]) => `${k}=${str(n)}`).join(' ');
        };
        const tx = obj(e['transactions']);
        const tr = obj(e['transport']);
        const drops = Object.entries(obj(tr['drops'])).filter(([, n]) => Number(n) > 0);
        lines.push(
          `${name}:`,
          table(
            ['', ''],
            [
              ['requests', kv(e['requests'])],
              ['replies', kv(e['replies'])],
              ['transactions', `server=${str(tx['server'])} client=${str(tx['client'])}`],
              ['flows', kv(e['flows'])],
              ['bindings', str(e['bindings'])],
              ['keepalives', kv(tr['keepalives'])],
              ['430 sent', str(e['flow_failed_430'])],
              ['token failures', str(e['flow_token_failures'])],
              [
                'dropped',
                drops.length === 0 ? '0' : drops.map(([k, n]) => `${k}=${str(n)}`).join(' '),
              ],
              ['script errors', str(e['script_errors'])],
            ],
          )
            .split('\n')
            .slice(1)
            .map((l) => `  ${l}`)
            .join('\n'),
        );
      }
      return lines.join('\n');
    }
    default:
      return JSON.stringify(body, null, 2);
  }
}

/** Runs one ctl command against a running instance. */
export async function runCtl(t: CtlTarget, a: CtlArgs): Promise<CtlOutput> {
  const fail = (m: string, code = 1): CtlOutput => ({
    stdout: '',
    stderr: `flowgate ctl: ${m}\n`,
    code,
  });
  const usage = (m: string): CtlOutput =>
    fail(`${m}\nRun 'flowgate ctl help ${a.command}' for usage.`, 2);
  const problem = ctlArgsProblem(a);
  if (problem !== undefined)
    return problem.code === 2
      ? fail(
          `${problem.message}\nRun 'flowgate ctl help${Object.hasOwn(CTL_COMMANDS, a.command) ? ` ${a.command}` : ''}' for usage.`,
          2,
        )
      : fail(problem.message, problem.code);
  if (a.command === 'help') {
    if (a.args.length > 1) return usage('help takes at most one command');
    const h = ctlHelp(a.args[0]);
    if (h === undefined) return usage(`no ctl command '${a.args[0]}'`);
    return { stdout: `${h}\n`, stderr: '', code: 0 };
  }
  const noArgs = ['health', 'elements', 'flows', 'stats', 'registrars', 'reload-tls'];
  if (noArgs.includes(a.command) && a.args.length > 0)
    return usage(`${a.command} takes no arguments (got '${a.args.join(' ')}')`);
  let method = 'GET';
  let path: string;
  let payload: Record<string, unknown> | undefined;
  const element = a.element;
  switch (a.command) {
    case 'health':
      path = '/health';
      break;
    case 'elements':
      path = `/v1/elements${qs({ element })}`;
      break;
    case 'bindings':
      if (a.args.length > 1) return usage('bindings takes at most one AoR');
      path = `/v1/bindings${qs({ aor: a.args[0], limit: a.limit, cursor: a.cursor, element })}`;
      break;
    case 'unbind': {
      const [aor, ruid] = a.args;
      if (aor === undefined || a.args.length > 2)
        return usage('usage: flowgate ctl unbind <aor> [ruid]');
      method = 'DELETE';
      path = `/v1/bindings/${encodeURIComponent(aor)}${ruid === undefined ? '' : `/${encodeURIComponent(ruid)}`}${qs({ element })}`;
      break;
    }
    case 'flows':
      path = `/v1/flows${qs({ transport: a.transport?.toLowerCase(), element })}`;
      break;
    case 'close-flow': {
      const [id] = a.args;
      if (id === undefined || a.args.length > 1)
        return usage('usage: flowgate ctl close-flow <id> (the ID column of flowgate ctl flows)');
      method = 'DELETE';
      path = `/v1/flows/${encodeURIComponent(id)}${qs({ element })}`;
      break;
    }
    case 'stats':
      path = `/v1/stats${qs({ element })}`;
      break;
    case 'registrars':
      path = `/v1/registrars${qs({ element })}`;
      break;
    case 'reload-tls':
      method = 'POST';
      path = '/v1/tls/reload';
      break;
    case 'capture': {
      const [onOff] = a.args;
      if (a.args.length > 1 || (onOff !== undefined && onOff !== 'on' && onOff !== 'off'))
        return usage('usage: flowgate ctl capture [on|off]');
      path = '/v1/capture';
      if (onOff !== undefined) {
        method = 'PUT';
        payload =
          element === undefined
            ? { enabled: onOff === 'on' }
            : { enabled: onOff === 'on', element };
      } else path += qs({ element });
      break;
    }
    case 'trace':
      // a stream: main.ts runs it with runTrace (src/cli/trace.ts)
      return usage('trace streams: run it as flowgate ctl trace');
    default: {
      // loglevel
      const [level] = a.args;
      if (a.args.length > 1) return usage('usage: flowgate ctl loglevel [level]');
      path = '/v1/loglevel';
      if (level !== undefined) {
        if (!CTL_LOG_LEVELS.includes(level))
          return fail(
            `loglevel ${level}: no such level (expected one of ${CTL_LOG_LEVELS.join(', ')})`,
          );
        method = 'PUT';
        payload = element === undefined ? { level } : { level, element };
      } else if (element !== undefined) path += qs({ element });
    }
  }
  let r: Reply;
  try {
    r = await call(t, method, path, payload);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const body = obj(r.body);
  if (r.status >= 400 && !(a.command === 'health' && r.status === 503)) {
    let msg = typeof body['message'] === 'string' ? body['message'] : `HTTP ${r.status}`;
    if (r.status === 401 && t.token === undefined && t.tokenHint !== undefined)
      msg += ` (${t.tokenHint})`;
    return a.json
      ? { stdout: `${JSON.stringify(r.body, null, 2)}\n`, stderr: '', code: 1 }
      : fail(msg);
  }
  const code = a.command === 'health' && r.status !== 200 ? 1 : 0;
  if (a.json) return { stdout: `${JSON.stringify(r.body, null, 2)}\n`, stderr: '', code };
  let shown = r.body;
  if (a.command === 'loglevel' && element !== undefined) {
    // only the element asked about
    const els = obj(body['elements']);
    shown = { ...body, elements: { [element]: els[element] } };
  }
  return { stdout: `${render(a.command, shown)}\n`, stderr: '', code };
}
