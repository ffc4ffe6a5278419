import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';

/**
 * Files that hold secrets (the flow-token key, the management token) in the data directory: created
 * with mode 0600 inside a directory created 0700, and never seen half-written.
 */

/** Creates `dir` (and its missing parents) with mode 0700; an existing directory keeps its mode. */
export function ensurePrivateDir(dir: string): void {
  // the mode applies only to directories created now: an operator's own set-up is left alone
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

/** Writes `data` to a new temporary file next to `path` (mode 0600), flushed to disk; returns its path. */
function writeTemp(path: string, data: string): string {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  // 'wx': never follow or reuse a file someone else put there
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(tmp);
    throw e;
  }
  closeSync(fd);
  return tmp;
}

/** fsync of a directory, so that a rename or link in it survives a crash (best effort: not every OS allows it). */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch {
    // e.g. EISDIR/EPERM on platforms without directory fsync
  }
}

/**
 * Reads a secret file, or creates it with `create()` when it does not exist: complete (temporary
 * file, fsync) and exclusive (a hard link, which fails when the name exists). Two processes that
 * start at once on one data directory therefore agree on one secret: the second reads the first's.
 * Where the file system has no hard links, a rename is used instead.
 * @returns the file's content, as read or as written.
 */
export function readOrCreateSecretFile(path: string, create: () => string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
  ensurePrivateDir(dirname(path));
  const data = create();
  const tmp = writeTemp(path, data);
  try {
    linkSync(tmp, path);
  } catch (e) {
    const code = errno(e);
    if (code === 'EEXIST') {
      // another process created it first: use theirs
      unlinkSync(tmp);
      return readFileSync(path, 'utf8');
    }
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'ENOSYS' || code === 'EOPNOTSUPP') {
      renameSync(tmp, path);
      syncDir(dirname(path));
      return data;
    }
    unlinkSync(tmp);
    throw e;
  }
  unlinkSync(tmp);
  syncDir(dirname(path));
  return data;
}

/**
 * A secret key of `bytes` random bytes kept as hex in `file` (created once with
 * {@link readOrCreateSecretFile}), so what it signs stays valid across restarts; without a file, a
 * fresh key per start.
 * @throws when the file exists but does not hold a key of that size (naming the file and the fix).
 */
export function loadOrCreateKey(file: string | undefined, bytes: number): Buffer {
  if (file === undefined) return randomBytes(bytes);
  const hex = readOrCreateSecretFile(file, () => `${randomBytes(bytes).toString('hex')}\n`).trim();
  if (hex.length === bytes * 2 && /^[0-9a-f]+$/i.test(hex)) return Buffer.from(hex, 'hex');
  throw new Error(
    `${file}: not a key (expected ${bytes * 2} hex digits); delete it to generate a new one`,
  );
}
