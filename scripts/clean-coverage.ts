// Drops source-map-cache entries c8 cannot read (modules loaded from data: URLs, e.g. a routing
// script compiled in memory by tsx) from raw V8 coverage files, so `c8 report` can run.
// Usage: tsx scripts/clean-coverage.ts <NODE_V8_COVERAGE directory>
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: clean-coverage.ts <coverage dir>');
for (const f of readdirSync(dir)) {
  if (!f.endsWith('.json')) continue;
  const p = join(dir, f);
  const j = JSON.parse(readFileSync(p, 'utf8')) as {
    result?: { url: string }[];
    'source-map-cache'?: Record<string, unknown>;
  };
  const smc = j['source-map-cache'];
  if (smc !== undefined)
    for (const k of Object.keys(smc)) if (!k.startsWith('file:')) delete smc[k];
  if (j.result !== undefined) j.result = j.result.filter((r) => r.url.startsWith('file:'));
  writeFileSync(p, JSON.stringify(j));
}
