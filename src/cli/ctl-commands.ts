// The ctl commands: what each takes and does (for the help), and the check of the options given.

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
export type CtlOption = 'element' | 'transport' | 'limit' | 'cursor' | 'aor' | 'call-id' | 'count';

/** One ctl command: its arguments, what it does, which options it takes, examples. */
export interface CtlCommand {
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
