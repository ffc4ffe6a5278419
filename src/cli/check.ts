import { checkConfig, scriptModuleNotes } from '../config/check.js';
import { ConfigError } from '../config/errors.js';
import { formatListen } from '../config/listen.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { parseCommandArgs } from './args.js';
import { takeCfgOptions } from './cfg.js';
import { type Io, printIssues, usageError } from './io.js';

/** `flowgate check --help` */
export const CHECK_HELP = `Usage: flowgate check [--data-dir dir] [--no-port-check] [--set key=value]... <file>
       flowgate check [options] -c <file>

Validates a configuration without starting it and reports every problem at once, each with
file:line:col and what to do: the schema and values, script files (they must load and export a
script), TLS files (readable, PEM, the key belongs to the certificate, not expired), data_dir (a
writable directory, or one flowgate start can create; check creates nothing), and each listener
and the management API: the address must be one of this host's and the port free (bound and
released at once). A script file's call of a function whose module its element does not load
(ctx.save() without modules.registrar) is noted.

Options:
  -c, --config FILE    the file to check (instead of the argument)
  --data-dir DIR       check this data directory instead of data_dir of the file (as given to start)
  --no-port-check      do not try the ports (for the file of a server that runs and holds them);
                       the addresses are still checked
  --set KEY=VALUE      check the configuration with this key changed, as flowgate start --set
                       changes it (a dotted path and a YAML value); repeatable
  -A, --define NAME    a .cfg preprocessor define (NAME or NAME=VALUE), as Kamailio's -A; repeatable
  -l, --listen ADDR    check these listeners instead of the .cfg's listen= lines; repeatable
  -h, --help           this help

Examples:
  flowgate check examples/flowgate.yaml
  flowgate check host.yaml --set management.listen=127.0.0.1:8083 --set data_dir=edge2.data
  flowgate check --no-port-check /etc/flowgate/flowgate.yaml

Exit status: 0 OK, 1 problems found (listed on stderr), 2 usage.`;

/** `flowgate check` */
export async function cmdCheck(io: Io, args: string[]): Promise<number> {
  // -A NAME / -l ADDRESS: Kamailio's options for a .cfg file (src/cli/cfg.ts)
  const { argv, defines, listen } = takeCfgOptions('check', args);
  const { values, positionals } = parseCommandArgs('check', argv, {
    config: { type: 'string', short: 'c' },
    'data-dir': { type: 'string' },
    'no-port-check': { type: 'boolean' },
    set: { type: 'string', multiple: true },
  });
  if (values.help === true) {
    io.out(`${CHECK_HELP}\n`);
    return 0;
  }
  const file = values.config ?? positionals[0];
  if (file === undefined) return usageError(io, 'which file? flowgate check <file>', 'check');
  if (positionals.length > (values.config === undefined ? 1 : 0))
    return usageError(io, `check takes one file (got '${positionals.join(' ')}')`, 'check');
  let config: Config;
  try {
    config = loadConfig(file, { dataDir: values['data-dir'], defines, listen, set: values.set });
  } catch (e) {
    if (e instanceof ConfigError) {
      printIssues(io, e.issues);
      io.err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in ${file}\n`);
      return 1;
    }
    throw e;
  }
  const issues = await checkConfig(config, {
    ports: values['no-port-check'] !== true,
    dataDirFrom: values['data-dir'] === undefined ? undefined : '--data-dir',
  });
  if (issues.length > 0) {
    printIssues(io, issues);
    io.err(`${issues.length} problem${issues.length === 1 ? '' : 's'} in ${file}\n`);
    return 1;
  }
  io.out(`${file}: OK\n`);
  for (const el of Object.values(config.elements)) {
    io.out(
      `  ${el.name}: script ${el.script.kind === 'builtin' ? el.script.name : el.script.source}, listen ${el.listen.map(formatListen).join(' ')}\n`,
    );
    if (el.script.kind === 'file') for (const n of el.script.notes ?? []) io.out(`  note: ${n}\n`);
  }
  // from the module registry: script functions whose module an element does not load
  for (const n of await scriptModuleNotes(config)) io.out(`  note: ${n}\n`);
  return 0;
}
