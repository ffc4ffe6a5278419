import { writeFileSync } from 'node:fs';
import { CfgError, compileCfg, formatCfgIssue } from '../script/cfg/index.js';
import { parseCommandArgs, UsageError } from './args.js';

/** Where output goes (the CLI's Io). */
interface Io {
  out(s: string): void;
  err(s: string): void;
}

/** `flowgate cfg` (and `flowgate cfg --help`). */
export const CFG_HELP = `Usage: flowgate cfg translate [-A NAME[=VALUE]]... [-o out.ts] [--import-from module] <file.cfg>

Kamailio configuration files. flowgate runs a .cfg as it is (flowgate start -c edge.cfg, or
script: ./registrar.cfg in flowgate.yaml) and checks one as it checks YAML (flowgate check
edge.cfg); docs/kamailio-cfg.md says what is supported.

Commands:
  translate    print the equivalent TypeScript routing script (a module exporting
               defineScript({ ... })), for moving on from the .cfg form; the globals, loadmodule
               and modparam lines are not in it: they are the element's configuration

Options:
  -A, --define NAME[=VALUE]   a preprocessor define, as Kamailio's -A (repeatable): #!ifdef NAME
  -o, --output FILE           write the script to FILE instead of standard output
  --import-from MODULE        where defineScript is imported from (default: flowgate)
  -h, --help                  this help

Examples:
  flowgate cfg translate edge.cfg > edge.ts
  flowgate cfg translate -A WITH_AUTH registrar.cfg -o registrar.ts

Exit status: 0 translated, 1 the file has problems (each with file:line:col), 2 usage.`;

/** `-A`/`--define` and `-l`/`--listen` (repeatable, Kamailio's options) taken out of `argv`. */
export interface CfgArgs {
  readonly argv: string[];
  readonly defines: string[];
  readonly listen: string[];
}

/**
 * Takes Kamailio's repeatable command-line options out of a command's arguments: `-A NAME[=VALUE]`
 * (`--define`) and `-l ADDRESS` (`--listen`).
 * @throws UsageError for an option without a value.
 */
export function takeCfgOptions(command: string, argv: readonly string[]): CfgArgs {
  const rest: string[] = [];
  const defines: string[] = [];
  const listen: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    }
    const m = /^(-A|--define|-l|--listen)(?:=(.*))?$/.exec(a);
    if (m === null) {
      rest.push(a);
      continue;
    }
    let v = m[2];
    if (v === undefined) {
      v = argv[i + 1];
      if (v === undefined || (v.startsWith('-') && v.length > 1))
        throw new UsageError(`option '${m[1]}' needs a value`, command);
      i++;
    }
    if (m[1] === '-A' || m[1] === '--define') defines.push(v);
    else listen.push(v);
  }
  return { argv: rest, defines, listen };
}

/** `flowgate cfg …`; resolves with the exit code. */
export async function runCfg(io: Io, argv: readonly string[]): Promise<number> {
  const cfgArgs = takeCfgOptions('cfg', argv);
  const { values, positionals } = parseCommandArgs('cfg', cfgArgs.argv, {
    output: { type: 'string', short: 'o' },
    'import-from': { type: 'string' },
  });
  const [sub, ...files] = positionals;
  if (values.help === true || sub === 'help' || sub === undefined) {
    io.out(`${CFG_HELP}\n`);
    return sub === undefined && values.help !== true ? 2 : 0;
  }
  if (sub !== 'translate')
    throw new UsageError(`no cfg command '${sub}' (commands: translate)`, 'cfg');
  const file = files[0];
  if (file === undefined || files.length > 1)
    throw new UsageError(
      file === undefined
        ? 'which file? flowgate cfg translate <file.cfg>'
        : 'translate takes one file',
      'cfg',
    );
  try {
    const c = compileCfg(file, { defines: cfgArgs.defines });
    const ts = c.typescript({ importFrom: values['import-from'] });
    if (values.output === undefined) io.out(ts);
    else {
      writeFileSync(values.output, ts);
      io.err(`${file}: translated to ${values.output}\n`);
    }
    for (const n of c.notes)
      io.err(`note: ${n.pos.file}:${n.pos.line}:${n.pos.col}: ${n.message}\n`);
    return 0;
  } catch (e) {
    if (!(e instanceof CfgError)) throw e;
    for (const i of e.issues) io.err(`${formatCfgIssue(i)}\n`);
    io.err(`${e.issues.length} problem${e.issues.length === 1 ? '' : 's'} in ${file}\n`);
    return 1;
  }
}
