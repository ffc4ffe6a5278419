// Builds the live web console (issue 13 §2; docs/console.md) into dist/console: the page
// (web/console/*.tsx with Preact and uPlot) bundled into one console.js, Pico CSS + uPlot's CSS +
// ours into console.css, index.html, and LICENSES.txt with the notices of what is bundled. Nothing
// is fetched at run time: flowgate serves these files itself. `npm run build` runs this after tsc.
//   tsx scripts/build-console.ts [outdir]
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WEB = join(ROOT, 'web', 'console');

/** The packages bundled into the page, whose licences ship with it. */
export const BUNDLED = ['preact', 'uplot', '@picocss/pico'] as const;

/** Browsers the bundle is written for (all current ones, and two-year-old phones). */
const TARGET = ['chrome109', 'firefox115', 'safari15.6', 'edge109'];

/**
 * Builds the console into `outdir` (default dist/console) and returns the files written with
 * their sizes.
 */
export async function buildConsole(
  outdir = join(ROOT, 'dist', 'console'),
): Promise<{ file: string; bytes: number }[]> {
  mkdirSync(outdir, { recursive: true });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(WEB, 'main.tsx')],
    outfile: join(outdir, 'console.js'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: TARGET,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    legalComments: 'none',
    tsconfig: join(WEB, 'tsconfig.json'),
    logLevel: 'warning',
  });
  await build({
    absWorkingDir: ROOT,
    entryPoints: [join(WEB, 'console.css')],
    outfile: join(outdir, 'console.css'),
    bundle: true,
    minify: true,
    target: TARGET,
    legalComments: 'none',
    logLevel: 'warning',
  });
  copyFileSync(join(WEB, 'index.html'), join(outdir, 'index.html'));
  const notices = BUNDLED.map((name) => {
    const dir = join(ROOT, 'node_modules', name);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
      version: string;
      license: string;
    };
    const file = readdirSync(dir).find((f) => /^licen[cs]e(\.md|\.txt)?$/i.test(f));
    if (file === undefined) throw new Error(`${name}: no LICENSE file to ship with the console`);
    const text = readFileSync(join(dir, file), 'utf8').trim();
    return `${name} ${pkg.version} (${pkg.license})\n\n${text}\n`;
  });
  writeFileSync(
    join(outdir, 'LICENSES.txt'),
    `The flowgate console bundles these packages:\n\n${notices.join(`\n${'-'.repeat(72)}\n\n`)}`,
  );
  return ['index.html', 'console.js', 'console.css', 'LICENSES.txt'].map((file) => ({
    file,
    bytes: statSync(join(outdir, file)).size,
  }));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const out = process.argv[2] === undefined ? undefined : resolve(process.argv[2]);
  const files = await buildConsole(out);
  console.log(
    `console: ${files.map((f) => `${f.file} ${(f.bytes / 1024).toFixed(1)} KiB`).join(', ')}`,
  );
}
