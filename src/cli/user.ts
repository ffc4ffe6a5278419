// `flowgate user add|passwd|remove|list`: manages the credentials store the server of the same
// configuration reads (Kamailio's kamctl add/passwd/rm for the subscriber table).
import { resolve } from 'node:path';
import { MODULE_DEFAULTS } from '../config/defaults.js';
import { ConfigError, formatIssue } from '../config/errors.js';
import { DEFAULT_CONFIG_NAME, loadConfig } from '../config/load.js';
import type { AuthDbConfig, Config } from '../config/types.js';
import { InvalidArgumentError } from '../errors/index.js';
import type { CredentialStore, Subscriber } from '../modules/auth/credentials.js';
import {
  CredentialStoreError,
  createCredentialStore,
  describeCredentialStore,
  newSubscriber,
  normalizeDomain,
  parseUserAddress,
  passwordProblem,
  realmProblem,
  type UserAddress,
  userJson,
} from '../modules/auth/store/index.js';
import { UsageError as OptionError, parseCommandArgs } from './args.js';
import { table } from './table.js';

/** Usage of `flowgate user`. */
export const USER_USAGE = `Usage:
  flowgate user add <user@domain> [--password-stdin] [--realm R]
      Add a user: asks for the password twice on a terminal (not shown), or reads one line from
      stdin with --password-stdin. At least 8 characters.
  flowgate user passwd <user@domain> [--password-stdin] [--realm R]
      Set a new password (the same input as add).
  flowgate user remove <user@domain>
      Remove a user.
  flowgate user list [--domain D] [--json]
      The users (user, domain, realm, created, updated; never the HA1 values).
Options:
  -c, --config F    the configuration the server runs with (default: the built-in one)
  --data-dir DIR    as for flowgate start: where the SQLite credentials store is
  --element NAME    the element whose credentials store to use, when elements use different ones
  --realm R         realm of the HA1 values (default: modules.auth.realm of the element, else the
                    user's domain)
  -h, --help        help; flowgate user help <command> for a command's, with examples
Exit status: 0 done, 1 failed (configuration, store, user exists or is missing), 2 usage (bad
arguments, password refused).`;

const STORE_OPTIONS = `  -c, --config F    the configuration the server runs with (default: the built-in one)
  --data-dir DIR    as for flowgate start: where the SQLite credentials store is
  --element NAME    the element whose credentials store to use, when elements use different ones
  -h, --help        this help`;

const PASSWORD_OPTIONS = `  --password-stdin  read the password as one line from stdin (scripts, secrets managers)
  --realm R         realm of the HA1 values (default: modules.auth.realm of the element, else the
                    user's domain)`;

/** Help of each `flowgate user` command. */
const USER_COMMAND_HELP: Readonly<Record<string, string>> = {
  add: `Usage: flowgate user add <user@domain> [--password-stdin] [--realm R] [-c file] [--data-dir dir]

Adds a user to the credentials store the server of -c reads (kamctl add). The password is asked
twice on a terminal (not shown), or read as one line from stdin with --password-stdin; at least 8
characters. Only the HA1 values are stored.

Options:
${PASSWORD_OPTIONS}
${STORE_OPTIONS}

Examples:
  flowgate user add alice@example.com -c /etc/flowgate/flowgate.yaml
  printf '%s\\n' "$ALICE_PASSWORD" | flowgate user add alice@example.com --password-stdin`,
  passwd: `Usage: flowgate user passwd <user@domain> [--password-stdin] [--realm R] [-c file] [--data-dir dir]

Sets a new password for a user (kamctl passwd); the password is read as for add.

Options:
${PASSWORD_OPTIONS}
${STORE_OPTIONS}

Examples:
  flowgate user passwd alice@example.com -c /etc/flowgate/flowgate.yaml
  printf '%s\\n' "$NEW_PASSWORD" | flowgate user passwd alice@example.com --password-stdin`,
  remove: `Usage: flowgate user remove <user@domain> [-c file] [--data-dir dir]

Removes a user (kamctl rm). Its registered phones stay registered until their bindings expire or
are removed (flowgate ctl unbind); new registrations are refused.

Options:
${STORE_OPTIONS}

Examples:
  flowgate user remove alice@example.com -c /etc/flowgate/flowgate.yaml`,
  list: `Usage: flowgate user list [--domain D] [--json] [-c file] [--data-dir dir]

Lists the users: user, domain, realm, created, updated (never the HA1 values).

Options:
  --domain D        only the users of this domain
  --json            print JSON instead of a table
${STORE_OPTIONS}

Examples:
  flowgate user list
  flowgate user list --domain example.com --json -c /etc/flowgate/flowgate.yaml`,
};

/** Help of `flowgate user`, or of one of its commands (undefined: no such command). */
export function userHelp(command?: string): string | undefined {
  if (command === undefined) return USER_USAGE;
  if (command === 'help')
    return `Usage: flowgate user help [command]

Prints the user commands, or one command's help with examples.

Examples:
  flowgate user help add`;
  return Object.hasOwn(USER_COMMAND_HELP, command) ? USER_COMMAND_HELP[command] : undefined;
}

/** Where output goes (the CLI's Io). */
export interface UserIo {
  out(s: string): void;
  err(s: string): void;
}

/** A terminal or pipe the password is read from (process.stdin by default). */
export type PasswordInput = NodeJS.ReadableStream & {
  readonly isTTY?: boolean | undefined;
  setRawMode?(mode: boolean): unknown;
};

/** Dependencies a test may replace. */
export interface UserDeps {
  readonly input?: PasswordInput | undefined;
  /** Where prompts go (default: stderr). */
  readonly prompt?: ((s: string) => void) | undefined;
  readonly now?: (() => number) | undefined;
}

/** A usage problem: exit 2. */
class UsageError extends Error {
  override name = 'UsageError';
  /** Whether to point at `flowgate user help` (not for a refused password). */
  readonly hint: boolean;
  constructor(message: string, hint = true) {
    super(message);
    this.hint = hint;
  }
}

/** An operational failure: exit 1. */
class Failure extends Error {
  override name = 'Failure';
}

/** Longest line `--password-stdin` reads. */
const MAX_STDIN_BYTES = 4096;

/**
 * Reads a line from a terminal without echoing it (raw mode; backspace and Ctrl-U edit, Ctrl-C
 * and Ctrl-D on an empty line cancel). Resolves undefined when cancelled or at end of input.
 */
export function readHidden(
  input: PasswordInput,
  write: (s: string) => void,
  prompt: string,
): Promise<string | undefined> {
  // echo off before the prompt shows: a user (or a script) who types as soon as it appears must
  // not see the password on the screen
  input.setRawMode?.(true);
  write(prompt);
  return new Promise((resolve) => {
    let chars: string[] = [];
    const finish = (v: string | undefined): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode?.(false);
      input.pause();
      write('\n');
      resolve(v);
    };
    const onEnd = (): void => finish(undefined);
    const onData = (chunk: string | Buffer): void => {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      for (const ch of text) {
        if (ch === '\r' || ch === '\n') {
          finish(chars.join(''));
          return;
        }
        if (ch === '\u0003' || (ch === '\u0004' && chars.length === 0)) {
          finish(undefined);
          return;
        }
        if (ch === '\u007f' || ch === '\b') chars.pop();
        else if (ch === '\u0015') chars = [];
        else if (ch === '\u001b')
          return; // an escape sequence (arrow key): drop the rest of it
        else if (ch >= ' ') chars.push(ch);
      }
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/** Reads one line (without its line ending) from a pipe; at most {@link MAX_STDIN_BYTES}. */
export function readLine(input: PasswordInput): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (err?: Error): void => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.pause();
      if (err !== undefined) reject(err);
      else resolve(buf.replace(/\r?\n[\s\S]*$/, ''));
    };
    const onEnd = (): void => done();
    const onData = (chunk: string | Buffer): void => {
      buf += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      if (buf.includes('\n')) done();
      else if (Buffer.byteLength(buf) > MAX_STDIN_BYTES)
        done(new UsageError(`--password-stdin: no line end within ${MAX_STDIN_BYTES} bytes`));
    };
    input.setEncoding('utf8');
    input.on('data', onData);
    input.on('end', onEnd);
    input.resume();
  });
}

/** The password for `user`: from stdin with --password-stdin, else asked twice on the terminal. */
async function readPassword(deps: UserDeps, fromStdin: boolean, user: string): Promise<string> {
  const input: PasswordInput = deps.input ?? process.stdin;
  const write = deps.prompt ?? ((s: string) => process.stderr.write(s));
  let password: string;
  if (fromStdin) {
    password = await readLine(input);
  } else {
    if (input.isTTY !== true || input.setRawMode === undefined)
      throw new UsageError(
        'stdin is not a terminal to ask for the password on: pass it on stdin with --password-stdin',
      );
    const first = await readHidden(input, write, `Password for ${user}: `);
    if (first === undefined) throw new Failure('cancelled');
    const p = passwordProblem(first);
    if (p !== undefined) throw new UsageError(p, false);
    const again = await readHidden(input, write, 'Retype the password: ');
    if (again === undefined) throw new Failure('cancelled');
    if (again !== first) throw new UsageError('the passwords do not match; nothing changed', false);
    password = first;
  }
  const p = passwordProblem(password);
  if (p !== undefined) throw new UsageError(p, false);
  return password;
}

/** The credentials store a command works on, and the realm it hashes for. */
interface Target {
  readonly authDb: AuthDbConfig;
  /** `modules.auth.realm` of the element(s); undefined: the user's domain. */
  readonly realm: string | undefined;
  /** Printed on stderr before the command runs (authentication off, …). */
  readonly note: string | undefined;
}

/**
 * The store the server of `config` reads: that of the element(s) loading auth (all must agree, or
 * `--element` picks one); without any, the default SQLite store in data_dir.
 */
function resolveTarget(
  config: Config,
  elementName: string | undefined,
  realmGiven: boolean,
): Target {
  const configName = config.file ?? DEFAULT_CONFIG_NAME;
  const all = Object.values(config.elements);
  const notEnabled = (where: string): string =>
    `note: authentication is not enabled in ${configName} (no element loads auth); users go to ${where} for when it is`;
  if (elementName !== undefined) {
    const el = config.elements[elementName];
    if (el === undefined)
      throw new UsageError(
        `--element ${elementName}: no such element in ${configName} (there are: ${all.map((e) => e.name).join(', ')})`,
      );
    const authDb = el.modules.auth_db;
    if (authDb === undefined) {
      const withAuth = all.filter((e) => e.modules.auth_db !== undefined).map((e) => e.name);
      throw new UsageError(
        `--element ${elementName}: the element does not load auth${withAuth.length === 0 ? '' : ` (elements that do: ${withAuth.join(', ')})`}`,
      );
    }
    return {
      authDb,
      realm: el.modules.auth?.realm,
      note:
        el.modules.auth === undefined
          ? `note: element ${el.name} does not load auth: these users are not checked until it does`
          : undefined,
    };
  }
  let candidates = all.filter((e) => e.modules.auth !== undefined);
  let note: string | undefined;
  if (candidates.length === 0) {
    // an auth_db without auth: the configuration says where users go, though nothing checks them
    candidates = all.filter((e) => e.modules.auth_db !== undefined);
    if (candidates.length === 0) {
      const authDb: AuthDbConfig = {
        backend: 'sqlite',
        path: resolve(config.data_dir, MODULE_DEFAULTS.auth_db.path),
        use_domain: MODULE_DEFAULTS.auth_db.use_domain,
      };
      return { authDb, realm: undefined, note: notEnabled(describeCredentialStore(authDb)) };
    }
  }
  const groups = new Map<
    string,
    { authDb: AuthDbConfig; realm: string | undefined; names: string[] }
  >();
  for (const e of candidates) {
    const authDb = e.modules.auth_db as AuthDbConfig;
    const realm = e.modules.auth?.realm;
    const key = JSON.stringify([authDb, realmGiven ? null : (realm ?? null)]);
    const g = groups.get(key);
    if (g === undefined) groups.set(key, { authDb, realm, names: [e.name] });
    else g.names.push(e.name);
  }
  if (groups.size > 1)
    throw new UsageError(
      `the elements of ${configName} use different credentials stores or realms: pick one with --element ${candidates.map((e) => e.name).join('|')}`,
    );
  const g = [...groups.values()][0] as { authDb: AuthDbConfig; realm: string | undefined };
  if (candidates.every((e) => e.modules.auth === undefined))
    note = notEnabled(describeCredentialStore(g.authDb));
  return { authDb: g.authDb, realm: g.realm, note };
}

/** `2024-05-01T10:00:00Z` */
function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function address(u: UserAddress): string {
  return `${u.username}@${u.domain}`;
}

/** Runs `flowgate user …`; resolves with the exit code. */
export async function runUser(
  io: UserIo,
  argv: readonly string[],
  deps: UserDeps = {},
): Promise<number> {
  try {
    return await userCommand(io, argv, deps);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(
        `flowgate user: ${e.message}\n${e.hint ? "Run 'flowgate user help' for usage.\n" : ''}`,
      );
      return 2;
    }
    if (e instanceof Failure) {
      io.err(`flowgate user: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CredentialStoreError) {
      io.err(`flowgate user: ${e.message}\n`);
      return 1;
    }
    if (e instanceof OptionError) {
      io.err(`flowgate user: ${e.message}\nRun 'flowgate user help' for usage.\n`);
      return 2;
    }
    throw e;
  }
}

async function userCommand(io: UserIo, argv: readonly string[], deps: UserDeps): Promise<number> {
  const { values, positionals } = parseCommandArgs('user', argv, {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    element: { type: 'string' },
    realm: { type: 'string' },
    domain: { type: 'string' },
    json: { type: 'boolean' },
    'password-stdin': { type: 'boolean' },
  });
  const [sub, ...args] = positionals;
  if (sub === undefined || sub === 'help' || values.help === true) {
    if (sub === undefined && values.help !== true) {
      io.err(`${USER_USAGE}\n`);
      return 2;
    }
    // `user --help`, `user add --help`, `user help [add]`
    if (values.help !== true && args.length > 1)
      throw new UsageError('help takes at most one command');
    const which = values.help === true ? sub : args[0];
    const h = userHelp(which);
    if (h === undefined)
      throw new UsageError(`unknown command '${which}' (add, passwd, remove, list)`);
    io.out(`${h}\n`);
    return 0;
  }
  if (!['add', 'passwd', 'remove', 'list'].includes(sub))
    throw new UsageError(`unknown command '${sub}' (add, passwd, remove, list)`);
  const onlyFor = (opt: string, given: unknown, subs: readonly string[]): void => {
    if (given !== undefined && !subs.includes(sub))
      throw new UsageError(`${opt} does not apply to '${sub}' (only to ${subs.join(', ')})`);
  };
  onlyFor('--password-stdin', values['password-stdin'], ['add', 'passwd']);
  onlyFor('--realm', values.realm, ['add', 'passwd']);
  onlyFor('--domain', values.domain, ['list']);
  onlyFor('--json', values.json, ['list']);
  let user: UserAddress | undefined;
  if (sub === 'list') {
    if (args.length > 0) throw new UsageError(`list takes no arguments (got '${args.join(' ')}')`);
  } else {
    if (args.length !== 1) throw new UsageError(`usage: flowgate user ${sub} <user@domain>`);
    const parsed = parseUserAddress(args[0] as string);
    if (!parsed.ok) throw new UsageError(parsed.message);
    user = parsed.value;
  }
  if (values.realm !== undefined) {
    const p = realmProblem(values.realm);
    if (p !== undefined) throw new UsageError(`--realm: ${p}`);
  }
  let domainFilter: string | undefined;
  if (values.domain !== undefined) {
    try {
      domainFilter = normalizeDomain(values.domain);
    } catch (e) {
      if (e instanceof InvalidArgumentError)
        throw new UsageError(`--domain: ${e.message.replace(/^credentials: /, '')}`);
      throw e;
    }
  }

  let config: Config;
  try {
    config = loadConfig(values.config, { dataDir: values['data-dir'] });
  } catch (e) {
    if (e instanceof ConfigError) {
      for (const i of e.issues) io.err(`${formatIssue(i)}\n`);
      return 1;
    }
    throw e;
  }
  const target = resolveTarget(config, values.element, values.realm !== undefined);
  if (target.note !== undefined) io.err(`${target.note}\n`);
  const where = describeCredentialStore(target.authDb);
  if (
    target.authDb.backend === 'memory' ||
    (target.authDb.backend === 'sqlite' && target.authDb.path === ':memory:')
  )
    throw new Failure(
      `the credentials store of ${config.file ?? DEFAULT_CONFIG_NAME} is in the server's memory (auth_db backend ${target.authDb.backend}): manage its users through the management API (POST /v1/users) of the running server`,
    );

  const store = createCredentialStore(target.authDb);
  await store.open();
  try {
    const now = deps.now?.() ?? Date.now();
    switch (sub) {
      case 'list':
        await list(io, store, domainFilter, values.json === true);
        return 0;
      case 'add': {
        const u = user as UserAddress;
        const existing = await store.get(u.username, u.domain);
        if (existing !== undefined)
          throw new Failure(
            `${address(existing)} already exists${address(existing) === address(u) ? '' : ` (use_domain is off: a user name is one user in every domain)`}; change its password with: flowgate user passwd ${address(existing)}`,
          );
        const realm = values.realm ?? target.realm ?? u.domain;
        const password = await readPassword(deps, values['password-stdin'] === true, address(u));
        const s = newSubscriber(u, realm, password, now);
        await store.put(s);
        io.out(`added ${address(u)} (realm ${realm}) to ${where}\n`);
        return 0;
      }
      case 'passwd': {
        const u = user as UserAddress;
        const existing: Subscriber | undefined = await store.get(u.username, u.domain);
        if (existing === undefined)
          throw new Failure(`no user ${address(u)}; add it with: flowgate user add ${address(u)}`);
        // with use_domain off the stored row may name another domain: keep it
        const stored = { username: existing.username, domain: existing.domain };
        const realm = values.realm ?? target.realm ?? stored.domain;
        const password = await readPassword(
          deps,
          values['password-stdin'] === true,
          address(stored),
        );
        await store.put(newSubscriber(stored, realm, password, now, existing.created));
        io.out(`changed the password of ${address(stored)} (realm ${realm}) in ${where}\n`);
        return 0;
      }
      default: {
        const u = user as UserAddress;
        if (!(await store.remove(u.username, u.domain)))
          throw new Failure(`no user ${address(u)} in ${where}`);
        io.out(`removed ${address(u)} from ${where}\n`);
        return 0;
      }
    }
  } finally {
    await store.close();
  }
}

async function list(
  io: UserIo,
  store: CredentialStore,
  domain: string | undefined,
  json: boolean,
): Promise<void> {
  const rows: Subscriber[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ domain, limit: 1000, cursor });
    rows.push(...page.items);
    cursor = page.next;
  } while (cursor !== undefined);
  if (json) {
    io.out(`${JSON.stringify({ users: rows.map(userJson) }, null, 2)}\n`);
    return;
  }
  if (rows.length === 0) {
    io.out(domain === undefined ? 'no users\n' : `no users in ${domain}\n`);
    return;
  }
  io.out(
    `${table(
      ['USER', 'DOMAIN', 'REALM', 'CREATED', 'UPDATED'],
      rows.map((s) => [
        s.username,
        s.domain,
        s.realm,
        isoSeconds(s.created),
        isoSeconds(s.updated),
      ]),
    )}\n`,
  );
}
