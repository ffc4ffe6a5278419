import { readFile, stat } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { type ConfigIssue, formatPath } from './errors.js';
import { loadScriptFile } from './script-file.js';
import type { Config } from './types.js';

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message : String(e);
}

/**
 * What `flowgate check` adds to validation: loads every script file (it must export a valid
 * script), reads the TLS files (and checks that certificate and key belong together), and checks
 * that the log file's and data directory's places exist. Returns the problems (empty: fine).
 */
export async function checkConfig(config: Config): Promise<ConfigIssue[]> {
  const issues: ConfigIssue[] = [];
  const at = (path: (string | number)[], message: string): void => {
    issues.push({ ...config.where(path), path: formatPath(path), message });
  };
  for (const [name, el] of Object.entries(config.elements)) {
    if (el.script.kind === 'file') {
      try {
        await loadScriptFile(el.script.path);
      } catch (e) {
        at(['elements', name, 'script'], e instanceof Error ? e.message : String(e));
      }
    }
    const t = el.tls;
    if (t !== undefined) {
      const files: Partial<Record<'cert' | 'key' | 'ca', Buffer>> = {};
      for (const k of ['cert', 'key', 'ca'] as const) {
        const p = t[k];
        if (p === undefined) continue;
        try {
          files[k] = await readFile(p);
        } catch (e) {
          at(['elements', name, 'tls', k], `cannot read ${p}: ${errnoText(e)}`);
        }
      }
      if (files.cert !== undefined && files.key !== undefined) {
        try {
          createSecureContext({
            cert: files.cert,
            key: files.key,
            ...(files.ca === undefined ? {} : { ca: files.ca }),
          });
        } catch (e) {
          at(
            ['elements', name, 'tls'],
            `the certificate and key cannot be used: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
      }
    }
  }
  if (config.log.file !== undefined) {
    // its directory is created at start; a directory in its place is a mistake
    try {
      if ((await stat(config.log.file)).isDirectory())
        at(['log', 'file'], `${config.log.file} is a directory (expected a file path)`);
    } catch {
      // created at start
    }
  }
  try {
    if (!(await stat(config.data_dir)).isDirectory())
      at(['data_dir'], `${config.data_dir} exists and is not a directory`);
  } catch {
    // created at start
  }
  return issues;
}
