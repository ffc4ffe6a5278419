// Users for the authenticated REGISTER benchmark (issue 10): one `user;password` file that the
// client (bench/auth/client.ts), Kamailio (KAM_USERS of ../shared/kamailio/kamailio.sh) and
// flowgate's SQLite credentials store all read.
//
//   node --import tsx bench/auth/users.ts FILE [--count 2000] [--domain example.com] [--force]
//                                              [--db DATA_DIR/subscriber.db ...]
//
// FILE is written when it does not exist (or with --force): --count users au00001..auNNNNN, each
// with a random 20-character password. With --db, every user of FILE is written into that
// flowgate SQLite credentials store (created if missing; realm = domain, the registrar's default
// when `auth.realm` is null) directly through createCredentialStore + newSubscriber of
// src/modules/auth/store, which is much faster than one `flowgate user add` per user.
// FLOWGATE_DIST=<dir with modules/auth/store/index.js> uses that build instead of src/ (the chain
// bench's private build).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

type StoreModule = typeof import('../../src/modules/auth/store/index.js');

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    count: { type: 'string', default: '2000' },
    domain: { type: 'string', default: 'example.com' },
    db: { type: 'string', multiple: true, default: [] },
    force: { type: 'boolean', default: false },
  },
});

const file = positionals[0];
const count = Number(opt.count);
if (file === undefined || !Number.isSafeInteger(count) || count < 1 || count > 99999) {
  console.error(
    'usage: users.ts FILE [--count N (1..99999, default 2000)] [--domain D] [--force] [--db subscriber.db ...]',
  );
  process.exit(2);
}

if (opt.force || !existsSync(file)) {
  let text = '';
  for (let i = 1; i <= count; i++)
    text += `au${String(i).padStart(5, '0')};${randomBytes(15).toString('base64url')}\n`;
  mkdirSync(dirname(resolve(file)), { recursive: true });
  writeFileSync(file, text, { mode: 0o600 });
  console.log(`users: wrote ${count} users to ${file}`);
}

const users: { username: string; password: string }[] = [];
for (const raw of readFileSync(file, 'utf8').split('\n')) {
  const line = raw.trim();
  if (line === '' || line.startsWith('#') || /^(SEQUENTIAL|RANDOM|USER)\b/.test(line)) continue;
  const [username, password] = line.split(';');
  if (username === undefined || password === undefined || username === '') {
    console.error(`${file}: expected user;password, got ${JSON.stringify(line)}`);
    process.exit(1);
  }
  users.push({ username, password });
}

if (opt.db.length > 0) {
  const dist = process.env['FLOWGATE_DIST'];
  const mod = (await import(
    dist === undefined || dist === ''
      ? '../../src/modules/auth/store/index.js'
      : pathToFileURL(join(resolve(dist), 'modules/auth/store/index.js')).href
  )) as StoreModule;
  const domain = opt.domain.toLowerCase();
  for (const path of opt.db) {
    const t0 = performance.now();
    // data_dir is private (0700), as flowgate makes it
    mkdirSync(dirname(resolve(path)), { recursive: true, mode: 0o700 });
    const store = mod.createCredentialStore({
      backend: 'sqlite',
      path: resolve(path),
      use_domain: true,
    });
    await store.open();
    const now = Date.now();
    let created = 0;
    try {
      for (const u of users) {
        const r = await store.put(
          mod.newSubscriber({ username: u.username, domain }, domain, u.password, now),
        );
        if (r === 'created') created++;
      }
    } finally {
      await store.close();
    }
    console.log(
      `users: ${users.length} users of ${file} in ${path} (${created} new, realm ${domain}) in ${(performance.now() - t0).toFixed(0)} ms`,
    );
  }
}
