import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Formats text as the project's formatter (Biome) does for `filePath`, so `npm run lint` accepts generated files. */
export function biomeFormat(text: string, filePath: string): string {
  const bin = resolve(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
  return execFileSync(process.execPath, [bin, 'format', `--stdin-file-path=${filePath}`], {
    input: text,
    encoding: 'utf8',
    cwd: ROOT,
  });
}
