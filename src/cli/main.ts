#!/usr/bin/env node
// The `flowgate` executable. It tunes V8's heap first (cli/early-heap.ts) and only then loads the
// program: a dynamic import, so that no other module is loaded, parsed or evaluated before the
// young generation is pinned at its start size (src/util/heap-tuning.ts). The commands and their
// help texts are in cli/program.ts.
import './early-heap.js';

const { main } = await import('./program.js');
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`flowgate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
