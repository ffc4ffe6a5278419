// `flowgate user …` run as a user runs it (a real process from src/ through tsx), against a temp
// data dir: the rows it leaves in SQLite (HA1s equal to ha1Set of the password, no plaintext), the
// store it picks from -c, exit codes, and the password prompt on a real terminal (script(1)).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  accessSync,
  constants,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { createClient } from 'redis';
import { ha1Set } from '../../../src/modules/auth/ha1.js';
import { RedisServer, redisSkipReason } from '../../support/redis-server.js';

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const MAIN = join(ROOT, 'src', 'cli', 'main.ts');
const TSX = import.meta.resolve('tsx');
const DIR = mkdtempSync(join(tmpdir(), 'flowgate-user-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `flowgate user …` to completion (bounded), `stdin` written to its standard input. */
function user(args: readonly string[], stdin = '', timeoutMs = 20_000): Promise<Result> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, ['--import', TSX, MAIN, 'user', ...args], {
      cwd: DIR,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    p.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    p.stdin.on('error', () => {}); // the CLI may exit before reading
    p.stdin.end(stdin);
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(
        new Error(`flowgate user ${args.join(' ')} did not finish in ${timeoutMs} ms\n${stderr}`),
      );
    }, timeoutMs);
    p.on('close', (code) => {
      clearTimeout(t);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A fresh data dir under DIR. */
function dataDir(): string {
  return join(DIR, `data-${randomBytes(4).toString('hex')}`);
}

function file(name: string, text: string): string {
  const p = join(DIR, name);
  writeFileSync(p, text);
  return p;
}

interface Row {
  username: string;
  domain: string;
  realm: string;
  ha1: string;
  ha1b: string;
  ha1_sha256: string;
  ha1b_sha256: string;
  created: number;
  updated: number;
}

/** Every subscriber row of a SQLite file, as the server would read it. */
function rows(path: string): Row[] {
  const db = new Database(path, { readonly: true });
  try {
    return db
      .prepare(
        'SELECT username, domain, realm, ha1, ha1b, ha1_sha256, ha1b_sha256, created, updated FROM subscriber ORDER BY domain, username',
      )
      .all() as Row[];
  } finally {
    db.close();
  }
}

/** Asserts a row holds exactly the HA1 values of `password` for its user, domain and realm. */
function assertHa1(row: Row | undefined, password: string, realm: string): void {
  assert.ok(row !== undefined, 'a row');
  assert.equal(row.realm, realm);
  assert.deepEqual(
    {
      ha1: row.ha1,
      ha1b: row.ha1b,
      ha1_sha256: row.ha1_sha256,
      ha1b_sha256: row.ha1b_sha256,
    },
    ha1Set(row.username, row.domain, realm, password),
  );
}

/** The bytes of a SQLite file and its WAL: must never hold a plaintext password. */
function bytesOf(path: string): string {
  let s = readFileSync(path).toString('latin1');
  try {
    s += readFileSync(`${path}-wal`).toString('latin1');
  } catch {
    // checkpointed and removed on close
  }
  return s;
}

describe('flowgate user (default configuration: SQLite in data_dir)', { concurrency: true }, () => {
  test('add --password-stdin writes the HA1s of the password, 0600, no plaintext; a note says auth is off', async () => {
    const d = dataDir();
    const r = await user(
      ['add', 'alice@Example.COM', '--password-stdin', '--data-dir', d],
      'Tr0ub4dor&3\n',
    );
    assert.equal(r.code, 0, r.stderr);
    const db = join(d, 'subscriber.db');
    assert.equal(r.stdout, `added alice@example.com (realm example.com) to sqlite ${db}\n`);
    assert.match(r.stderr, /^note: authentication is not enabled in <default config>/);
    const [row, ...rest] = rows(db);
    assert.equal(rest.length, 0);
    assert.equal(row?.username, 'alice');
    assert.equal(row?.domain, 'example.com');
    assertHa1(row, 'Tr0ub4dor&3', 'example.com');
    assert.equal(row?.created, row?.updated);
    assert.ok(Math.abs((row?.created ?? 0) - Date.now()) < 60_000);
    assert.equal(bytesOf(db).includes('Tr0ub4dor&3'), false, 'no plaintext in the file');
    assert.equal(statSync(db).mode & 0o777, 0o600);
    assert.equal(statSync(d).mode & 0o777, 0o700);
  });

  test('only the first line of stdin is the password; a CRLF line end is not part of it', async () => {
    const d = dataDir();
    const r = await user(
      ['add', 'bob@example.com', '--password-stdin', '--data-dir', d],
      'bob password\r\nignored\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assertHa1(rows(join(d, 'subscriber.db'))[0], 'bob password', 'example.com');
  });

  test('an empty or short password is refused with a clear message, exit 2, nothing stored', async () => {
    const d = dataDir();
    const empty = await user(
      ['add', 'carol@example.com', '--password-stdin', '--data-dir', d],
      '\n',
    );
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /flowgate user: the password is empty\n/);
    const none = await user(['add', 'carol@example.com', '--password-stdin', '--data-dir', d], '');
    assert.equal(none.code, 2);
    assert.match(none.stderr, /the password is empty/);
    const short = await user(
      ['add', 'carol@example.com', '--password-stdin', '--data-dir', d],
      '1234567\n',
    );
    assert.equal(short.code, 2);
    assert.match(short.stderr, /the password is too short \(7 characters\): use at least 8/);
    assert.deepEqual(rows(join(d, 'subscriber.db')), []);
  });

  test('without --password-stdin and no terminal: exit 2 naming --password-stdin', async () => {
    const r = await user(['add', 'dan@example.com', '--data-dir', dataDir()], 'dan password\n');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /stdin is not a terminal.*--password-stdin/);
  });

  test('add of an existing user fails (exit 1) pointing at passwd; passwd changes the HA1s and keeps created', async () => {
    const d = dataDir();
    const db = join(d, 'subscriber.db');
    assert.equal(
      (
        await user(
          ['add', 'erin@example.com', '--password-stdin', '--data-dir', d],
          'first password\n',
        )
      ).code,
      0,
    );
    const before = rows(db)[0] as Row;
    const again = await user(
      ['add', 'erin@EXAMPLE.com', '--password-stdin', '--data-dir', d],
      'other password\n',
    );
    assert.equal(again.code, 1);
    assert.match(
      again.stderr,
      /erin@example\.com already exists; change its password with: flowgate user passwd erin@example\.com/,
    );
    assert.deepEqual(rows(db), [before], 'unchanged');
    await new Promise((r) => setTimeout(r, 5)); // updated must move
    const p = await user(
      ['passwd', 'erin@example.com', '--password-stdin', '--data-dir', d],
      'second password\n',
    );
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /^changed the password of erin@example\.com \(realm example\.com\)/);
    const after = rows(db)[0] as Row;
    assertHa1(after, 'second password', 'example.com');
    assert.notEqual(after.ha1, before.ha1);
    assert.equal(after.created, before.created);
    assert.ok(after.updated > before.updated);
    const missing = await user(
      ['passwd', 'nobody@example.com', '--password-stdin', '--data-dir', d],
      'some password\n',
    );
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /no user nobody@example\.com; add it with: flowgate user add nobody@example\.com/,
    );
    // a short new password changes nothing
    const short = await user(
      ['passwd', 'erin@example.com', '--password-stdin', '--data-dir', d],
      'short\n',
    );
    assert.equal(short.code, 2);
    assert.deepEqual(rows(db), [after]);
  });

  test('list: a table of user, domain, realm, created, updated; --domain filters; --json; never an HA1', async () => {
    const d = dataDir();
    const empty = await user(['list', '--data-dir', d]);
    assert.equal(empty.code, 0, empty.stderr);
    assert.equal(empty.stdout, 'no users\n');
    for (const u of ['zed@b.example', 'amy@b.example', 'Bob@a.example'])
      assert.equal(
        (await user(['add', u, '--password-stdin', '--data-dir', d], `${u} password\n`)).code,
        0,
      );
    const r = await user(['list', '--data-dir', d]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^USER\s+DOMAIN\s+REALM\s+CREATED\s+UPDATED$/);
    assert.deepEqual(
      lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3)),
      [
        ['Bob', 'a.example', 'a.example'],
        ['amy', 'b.example', 'b.example'],
        ['zed', 'b.example', 'b.example'],
      ],
    );
    assert.match(
      lines[1] ?? '',
      /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\s+\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
    );
    const f = await user(['list', '--domain', 'B.example', '--data-dir', d]);
    assert.deepEqual(
      f.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[0]),
      ['amy', 'zed'],
    );
    const j = await user(['list', '--json', '--data-dir', d]);
    assert.equal(j.code, 0);
    const body = JSON.parse(j.stdout) as { users: Record<string, unknown>[] };
    assert.deepEqual(
      body.users.map((u) => u['user']),
      ['Bob@a.example', 'amy@b.example', 'zed@b.example'],
    );
    assert.deepEqual(Object.keys(body.users[0] ?? {}).sort(), [
      'created',
      'domain',
      'realm',
      'updated',
      'user',
      'username',
    ]);
    for (const out of [r.stdout, f.stdout, j.stdout]) {
      assert.doesNotMatch(out, /[0-9a-f]{32}/, 'no HA1 value in the output');
      assert.doesNotMatch(out, /password/);
    }
  });

  test('remove: exit 0 and the row is gone; again: exit 1', async () => {
    const d = dataDir();
    await user(['add', 'fay@example.com', '--password-stdin', '--data-dir', d], 'fay password\n');
    await user(['add', 'gus@example.com', '--password-stdin', '--data-dir', d], 'gus password\n');
    const r = await user(['remove', 'fay@example.com', '--data-dir', d]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^removed fay@example\.com from sqlite /);
    assert.deepEqual(
      rows(join(d, 'subscriber.db')).map((x) => x.username),
      ['gus'],
    );
    const again = await user(['remove', 'fay@example.com', '--data-dir', d]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no user fay@example\.com/);
  });

  test('usage errors exit 2: no user, not user@domain, unknown command, option of another command', async () => {
    const d = dataDir();
    const cases: [string[], RegExp][] = [
      [['add', '--data-dir', d], /usage: flowgate user add <user@domain>/],
      [['add', 'alice', '--data-dir', d], /expected user@domain/],
      [['add', 'al ice@example.com', '--data-dir', d], /user name "al ice"/],
      [['add', 'alice@exa mple.com', '--data-dir', d], /domain "exa mple.com"/],
      [['frob', '--data-dir', d], /unknown command 'frob'/],
      [['remove', 'a@example.com', '--json'], /--json does not apply to 'remove'/],
      [['list', '--password-stdin'], /--password-stdin does not apply to 'list'/],
      [['add', 'a@example.com', '--realm', 'a"b'], /--realm: realm/],
      [['list', '--bogus'], /^flowgate user: unknown option '--bogus' \(user takes -c\/--config, /],
      [['list', '--domain'], /^flowgate user: option '--domain' needs a value$/m],
    ];
    for (const [args, re] of cases) {
      const r = await user(args);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    const none = await user([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /flowgate user add <user@domain>/);
    const help = await user(['help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /--password-stdin/);
    // each command's own help, with examples: as --help, -h or user help <command>
    for (const args of [
      ['add', '--help'],
      ['list', '-h'],
      ['help', 'passwd'],
      ['remove', '-h'],
    ]) {
      const h = await user(args);
      assert.equal(h.code, 0, args.join(' '));
      assert.match(h.stdout, /^Usage: flowgate user (add|list|passwd|remove) /, args.join(' '));
      assert.match(h.stdout, /\nExamples:\n {2}(printf|flowgate) /, args.join(' '));
    }
    const unknown = await user(['help', 'frob']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frob'/);
  });
});

describe('flowgate user -c FILE: the store and realm of the server of that configuration', {
  concurrency: true,
}, () => {
  test('the auth_db path in data_dir and modules.auth.realm of the element that loads auth; --realm overrides', async () => {
    const data = join(DIR, 'cfg-data');
    const cfg = file(
      'auth.yaml',
      `data_dir: ${data}\nelements:\n  registrar:\n    script: registrar\n    listen: [udp:127.0.0.1:0]\n    modules:\n      auth: { realm: voip.example.com }\n      auth_db: { path: users/creds.db }\n`,
    );
    const r = await user(
      ['add', 'hal@example.com', '-c', cfg, '--password-stdin'],
      'hal password\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no note: authentication is on');
    const db = join(data, 'users', 'creds.db');
    assertHa1(rows(db)[0], 'hal password', 'voip.example.com');
    const o = await user(
      ['add', 'ida@example.com', '-c', cfg, '--realm', 'other.example', '--password-stdin'],
      'ida password\n',
    );
    assert.equal(o.code, 0, o.stderr);
    assertHa1(
      rows(db).find((x) => x.username === 'ida'),
      'ida password',
      'other.example',
    );
    // --data-dir overrides data_dir, as for flowgate start
    const d2 = dataDir();
    const m = await user(
      ['add', 'jo@example.com', '-c', cfg, '--data-dir', d2, '--password-stdin'],
      'jo password\n',
    );
    assert.equal(m.code, 0, m.stderr);
    assert.equal(rows(join(d2, 'users', 'creds.db'))[0]?.username, 'jo');
  });

  test('elements with different stores: exit 2 listing them; --element picks one', async () => {
    const data = join(DIR, 'two-data');
    const cfg = file(
      'two.yaml',
      `data_dir: ${data}\nelements:\n  east:\n    script: registrar\n    listen: [udp:127.0.0.1:0]\n    modules:\n      auth: {}\n      auth_db: { path: east.db }\n  west:\n    script: registrar\n    listen: [udp:127.0.0.1:0]\n    modules:\n      auth: { realm: west.example }\n      auth_db: { path: west.db }\n`,
    );
    const r = await user(
      ['add', 'kim@example.com', '-c', cfg, '--password-stdin'],
      'kim password\n',
    );
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /use different credentials stores or realms: pick one with --element east\|west/,
    );
    const w = await user(
      ['add', 'kim@example.com', '-c', cfg, '--element', 'west', '--password-stdin'],
      'kim password\n',
    );
    assert.equal(w.code, 0, w.stderr);
    assertHa1(rows(join(data, 'west.db'))[0], 'kim password', 'west.example');
    const bad = await user(['list', '-c', cfg, '--element', 'north']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--element north: no such element .* \(there are: east, west\)/);
  });

  test('a memory store cannot be written from outside the server: exit 1 naming the API', async () => {
    const cfg = file(
      'mem.yaml',
      `data_dir: ${dataDir()}\nelements:\n  registrar:\n    script: registrar\n    listen: [udp:127.0.0.1:0]\n    modules:\n      auth: {}\n      auth_db: { backend: memory }\n`,
    );
    const r = await user(
      ['add', 'lea@example.com', '-c', cfg, '--password-stdin'],
      'lea password\n',
    );
    assert.equal(r.code, 1);
    assert.match(r.stderr, /in the server's memory .*POST \/v1\/users/);
  });

  test('a configuration error: exit 1 with the problem', async () => {
    const cfg = file(
      'broken.yaml',
      'elements:\n  registrar:\n    modules:\n      auth_db: { backend: ldap }\n',
    );
    const r = await user(['list', '-c', cfg]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /auth_db\.backend/);
  });
});

describe('flowgate user with a redis auth_db', { skip: redisSkipReason() }, () => {
  let server: RedisServer | undefined;
  before(async () => {
    server = await RedisServer.start();
  });
  after(async () => {
    await server?.dispose();
  });

  test('add writes the subscriber hash the server reads; list and remove work on it', async () => {
    const s = server as RedisServer;
    const cfg = file(
      'redis.yaml',
      `data_dir: ${dataDir()}\nelements:\n  registrar:\n    script: registrar\n    listen: [udp:127.0.0.1:0]\n    modules:\n      auth: {}\n      auth_db: { backend: redis, url: "${s.url}", prefix: "cli:" }\n`,
    );
    const r = await user(
      ['add', 'max@example.com', '-c', cfg, '--password-stdin'],
      'max password\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /to redis redis:\/\/127\.0\.0\.1:\d+ \(prefix cli:\)/);
    const c = createClient({ url: s.url });
    c.on('error', () => {});
    await c.connect();
    try {
      const h = await c.hGetAll('cli:subscriber:example.com:max');
      assert.deepEqual(
        {
          ha1: h['ha1'],
          ha1b: h['ha1b'],
          ha1_sha256: h['ha1_sha256'],
          ha1b_sha256: h['ha1b_sha256'],
        },
        ha1Set('max', 'example.com', 'example.com', 'max password'),
      );
      const l = await user(['list', '-c', cfg]);
      assert.match(l.stdout, /^max\s+example\.com/m);
      assert.equal((await user(['remove', 'max@example.com', '-c', cfg])).code, 0);
      assert.deepEqual(await c.keys('cli:*'), []);
    } finally {
      c.destroy();
    }
  });
});

/** Path of script(1) (util-linux), which runs a command on a pseudo-terminal; or undefined. */
function findScript(): string | undefined {
  for (const d of (process.env['PATH'] ?? '').split(delimiter)) {
    if (d === '') continue;
    try {
      accessSync(join(d, 'script'), constants.X_OK);
      return join(d, 'script');
    } catch {
      // not here
    }
  }
  return undefined;
}

const SCRIPT = findScript();

describe('flowgate user on a terminal', {
  skip: SCRIPT === undefined ? 'script(1) not installed (util-linux)' : false,
}, () => {
  /**
   * Runs `flowgate user …` on a pseudo-terminal; `answers` are typed, each after its prompt
   * appeared (so the terminal is in the mode the CLI set). Returns what the terminal showed.
   */
  function onTerminal(
    args: readonly string[],
    answers: readonly [RegExp, string][],
  ): Promise<Result> {
    const cmd = [process.execPath, '--import', TSX, MAIN, 'user', ...args]
      .map((a) => `'${a.replace(/'/g, "'\\''")}'`)
      .join(' ');
    return new Promise((resolvePromise, reject) => {
      const p = spawn(SCRIPT as string, ['-qec', cmd, '/dev/null'], {
        cwd: DIR,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let screen = '';
      let next = 0;
      const typeWhenPrompted = (): void => {
        const a = answers[next];
        if (a?.[0].test(screen)) {
          next++;
          p.stdin.write(a[1]);
        }
      };
      p.stdout.on('data', (d: Buffer) => {
        screen += d.toString();
        typeWhenPrompted();
      });
      p.stderr.on('data', (d: Buffer) => {
        screen += d.toString();
      });
      p.stdin.on('error', () => {});
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        reject(
          new Error(`on a terminal: flowgate user ${args.join(' ')} did not finish:\n${screen}`),
        );
      }, 20_000);
      p.on('close', (code) => {
        clearTimeout(t);
        resolvePromise({ code, stdout: screen, stderr: '' });
      });
    });
  }

  test('add asks twice and never shows the password', async () => {
    const d = dataDir();
    const r = await onTerminal(
      ['add', 'ned@example.com', '--data-dir', d],
      [
        [/Password for ned@example\.com: /, 'hidden-Pa55word\r'],
        [/Retype the password: /, 'hidden-Pa55word\r'],
      ],
    );
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /added ned@example\.com/);
    assert.equal(r.stdout.includes('hidden-Pa55word'), false, `echoed:\n${r.stdout}`);
    assertHa1(rows(join(d, 'subscriber.db'))[0], 'hidden-Pa55word', 'example.com');
  });

  test('backspace edits; a retype that differs changes nothing (exit 2)', async () => {
    const d = dataDir();
    const r = await onTerminal(
      ['add', 'ola@example.com', '--data-dir', d],
      [
        [/Password for ola@example\.com: /, 'first-passwordX\u007f\r'],
        [/Retype the password: /, 'first-password-typo\r'],
      ],
    );
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stdout, /the passwords do not match; nothing changed/);
    assert.deepEqual(rows(join(d, 'subscriber.db')), []);
    const ok = await onTerminal(
      ['add', 'ola@example.com', '--data-dir', d],
      [
        [/Password for ola@example\.com: /, 'first-passwordX\u007f\r'],
        [/Retype the password: /, 'first-password\r'],
      ],
    );
    assert.equal(ok.code, 0, ok.stdout);
    assertHa1(rows(join(d, 'subscriber.db'))[0], 'first-password', 'example.com');
  });

  test('a short password is refused before the retype', async () => {
    const r = await onTerminal(
      ['add', 'pat@example.com', '--data-dir', dataDir()],
      [[/Password for pat@example\.com: /, 'short\r']],
    );
    assert.equal(r.code, 2);
    assert.match(r.stdout, /the password is too short \(5 characters\)/);
    assert.doesNotMatch(r.stdout, /Retype/);
  });
});
