// Generates docs/configuration.md from the configuration schema (src/config/schema.ts), the
// defaults (src/config/defaults.ts) and the module registry (src/modules/registry.ts). test/unit/config/docs.test.ts fails when the file is stale.
// Usage: tsx scripts/gen-config-docs.ts          (writes docs/configuration.md)
//        tsx scripts/gen-config-docs.ts --check  (exit 1 when it differs)
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import {
  EDGE_DEFAULTS,
  ELEMENT_DEFAULTS,
  MODULE_DEFAULTS,
  PROFILES,
  ROOT_DEFAULTS,
} from '../src/config/defaults.js';
import { configSchema } from '../src/config/schema.js';
import type {
  ArgKind,
  ModuleExports,
  ModuleFunction,
  ModuleParam,
} from '../src/modules/contract.js';
import { MODULE_REGISTRY } from '../src/modules/registry.js';
import { biomeFormat } from './lib/biome-format.js';

interface Def {
  readonly type: string;
  readonly innerType?: Schema;
  readonly shape?: Record<string, Schema>;
  readonly valueType?: Schema;
  readonly options?: readonly Schema[];
  readonly element?: Schema;
  readonly in?: Schema;
  readonly entries?: Record<string, string>;
  readonly values?: readonly unknown[];
}
interface Schema {
  readonly def: Def;
}

/** Output path of the reference. */
export const DOC_PATH = resolve(import.meta.dirname, '..', 'docs', 'configuration.md');

function description(s: Schema): string | undefined {
  const m = z.globalRegistry.get(s as unknown as z.ZodType);
  return typeof m?.description === 'string' ? m.description : undefined;
}

/** Strips optional/nullable wrappers, collecting descriptions and nullability. */
function unwrap(s: Schema): { inner: Schema; desc: string | undefined; nullable: boolean } {
  let desc = description(s);
  let nullable = false;
  let cur = s;
  for (;;) {
    const t = cur.def.type;
    if ((t === 'optional' || t === 'nullable') && cur.def.innerType !== undefined) {
      if (t === 'nullable') nullable = true;
      cur = cur.def.innerType;
      desc ??= description(cur);
      continue;
    }
    return { inner: cur, desc, nullable };
  }
}

function typeText(s: Schema): string {
  const d = s.def;
  switch (d.type) {
    case 'boolean':
      return 'boolean';
    case 'number': {
      const f = z.globalRegistry.get(s as unknown as z.ZodType)?.['format'];
      return typeof f === 'string' ? f.replace(/^an? /, '') : 'integer';
    }
    case 'string':
      return 'string';
    case 'null':
      return '`null`';
    case 'enum':
      return Object.values(d.entries ?? {})
        .map((v) => `\`${v}\``)
        .join(' \\| ');
    case 'literal':
      return (d.values ?? []).map((v) => `\`${String(v)}\``).join(' \\| ');
    case 'pipe': {
      // the flag type: union -> boolean
      const inner = d.in;
      if (
        inner !== undefined &&
        inner.def.type === 'union' &&
        (inner.def.options ?? []).some((o) => o.def.type === 'boolean')
      )
        return 'flag (`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`)';
      return inner === undefined ? 'string' : typeText(inner);
    }
    case 'union': {
      const parts = (d.options ?? []).map((o) => typeText(unwrap(o).inner));
      return [...new Set(parts)].join(' or ');
    }
    case 'object':
      return 'mapping';
    case 'array':
      return d.element === undefined ? 'list' : `list of ${typeText(d.element)}`;
    case 'record':
      return 'mapping of name → element';
    default:
      return d.type;
  }
}

function fmt(v: unknown, kamailioFlags: boolean): string {
  if (v === undefined) return '—';
  if (v === null) return '`null`';
  if (typeof v === 'boolean') return kamailioFlags ? (v ? '`1`' : '`0`') : `\`${v}\``;
  if (typeof v === 'object' && !Array.isArray(v)) return '—';
  if (Array.isArray(v)) return v.length === 0 ? '`[]`' : `\`[${v.join(', ')}]\``;
  return `\`${String(v)}\``;
}

type Defaults = (
  path: readonly string[],
  key: string,
) => { base: unknown; edge?: unknown; registrar?: unknown };

function get(o: unknown, keys: readonly string[]): unknown {
  let cur: unknown = o;
  for (const k of keys) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

/** The defaults of a key: Kamailio's, and what the edge / registrar scripts set instead. */
const defaults: Defaults = (path, key) => {
  const p = path.join('.');
  if (p === '') return { base: get(ROOT_DEFAULTS, [key]) };
  if (p === 'log' || p === 'management') return { base: get(ROOT_DEFAULTS, [p, key]) };
  if (p === 'elements.<name>') {
    if (key === 'listen')
      return {
        base: PROFILES.custom.listen,
        edge: PROFILES.edge.listen,
        registrar: PROFILES.registrar.listen,
      };
    if (key === 'script')
      return {
        base: undefined,
        edge: 'edge (element named edge)',
        registrar: 'registrar (element named registrar)',
      };
    if (key === 'alias') return { base: [] };
    return {
      base: get(ELEMENT_DEFAULTS, [key]),
      edge: get(PROFILES.edge.element, [key]),
      registrar: get(PROFILES.registrar.element, [key]),
    };
  }
  if (p === 'elements.<name>.edge') return { base: get(EDGE_DEFAULTS, [key]) };
  const m = /^elements\.<name>\.modules\.(\w+)$/.exec(p);
  if (m?.[1] !== undefined) {
    const mod = m[1];
    return {
      base: get(MODULE_DEFAULTS, [mod, key]),
      edge: get(PROFILES.edge.modules, [mod, key]),
      registrar: get(PROFILES.registrar.modules, [mod, key]),
    };
  }
  return { base: undefined };
};

/** Sections whose defaults differ per built-in script (edge / registrar columns). */
function isProfiled(path: readonly string[]): boolean {
  const p = path.join('.');
  return p === 'elements.<name>' || /^elements\.<name>\.modules\.\w+$/.test(p);
}

interface Section {
  readonly path: readonly string[];
  readonly desc: string | undefined;
  readonly rows: string[];
}

function walk(s: Schema, path: readonly string[], desc: string | undefined, out: Section[]): void {
  const { inner } = unwrap(s);
  let obj: Schema | undefined = inner;
  // modules accept an object, null or false: document the object
  if (inner.def.type === 'union')
    obj = (inner.def.options ?? [])
      .map((o) => unwrap(o).inner)
      .find((o) => o.def.type === 'object');
  if (obj === undefined || obj.def.type !== 'object') return;
  const section: Section = { path, desc, rows: [] };
  out.push(section);
  const profiled = isProfiled(path);
  const kf = path.join('.').startsWith('elements.<name>.modules');
  for (const [key, child] of Object.entries(obj.def.shape ?? {})) {
    const u = unwrap(child);
    const dv = defaults(path, key);
    const type = `${typeText(u.inner)}${u.nullable ? ' or `null`' : ''}`;
    const cells = [`\`${key}\``, type, fmt(dv.base, kf)];
    if (profiled)
      cells.push(
        dv.edge === undefined ? '' : fmt(dv.edge, kf),
        dv.registrar === undefined ? '' : fmt(dv.registrar, kf),
      );
    cells.push((u.desc ?? '').replace(/\|/g, '\\|'));
    section.rows.push(`| ${cells.join(' | ')} |`);
    const childInner = u.inner;
    if (childInner.def.type === 'record' && childInner.def.valueType !== undefined)
      walk(childInner.def.valueType, [...path, key, '<name>'], u.desc, out);
    else walk(child, [...path, key], u.desc, out);
  }
}

const ARG_NAMES: Readonly<Record<ArgKind, string>> = {
  fmt: 'format',
  static: 'text',
  int: 'int',
  regex: 'regex',
  'failure-route': 'failure_route',
  'branch-failure-route': 'event_route',
  level: 'level',
  table: 'table',
};

const cell = (s: string): string => s.replace(/\|/g, '\\|');

/** `name(a, b[, c])` with the optional arguments in brackets. */
function signature(f: ModuleFunction): string {
  const required = f.args.length - (f.optional ?? 0);
  let out = '';
  f.args.forEach((a, i) => {
    const sep = i === 0 ? '' : ', ';
    out += i < required ? `${sep}${ARG_NAMES[a]}` : `[${sep}${ARG_NAMES[a]}`;
  });
  out += ']'.repeat(f.optional ?? 0);
  return `\`${f.name}(${out})\``;
}

function returnsText(f: ModuleFunction): string {
  return Object.entries(f.returns)
    .sort(([a], [b]) => Number(b) - Number(a))
    .map(([code, meaning]) => `\`${code}\` ${meaning}`)
    .join('; ');
}

function paramMapping(m: ModuleExports, p: ModuleParam): string {
  if (p.yamlOnly === true)
    return `\`modules.${m.config ?? m.name}.${p.name}\` (flowgate.yaml only)`;
  if (p.to === undefined) return `\`modules.${m.config ?? m.name}.${p.name}\``;
  if ('key' in p.to) return `\`${p.to.key.join('.')}\``;
  if ('special' in p.to) return 'converted (see docs/kamailio-cfg.md)';
  return `no effect: ${p.to.none}`;
}

/** One section per module of the registry: its functions and parameters. */
function moduleDocs(): string[] {
  const out: string[] = [
    '## Modules: functions and parameters',
    '',
    'Every module flowgate knows, as its module registry (`src/modules/registry.ts`) declares it: the',
    'script functions (the TypeScript script context has each as a method of `ctx`; a `.cfg` file calls',
    'it after `loadmodule`), their return codes (positive is true, negative false, 0 ends the script),',
    'and the parameters (`modparam` in a `.cfg` file, `modules.<module>.<param>` in flowgate.yaml).',
    'A function whose module is not loaded fails with "the <module> module is not loaded".',
    '',
  ];
  for (const m of MODULE_REGISTRY) {
    out.push(`### \`${m.name}\``, '');
    const facts = [`${m.note[0]?.toUpperCase() ?? ''}${m.note.slice(1)}.`];
    if (m.notInCfg !== undefined) facts.push(`Not loadable from a \`.cfg\` file: ${m.notInCfg}.`);
    if (m.needs.length > 0)
      facts.push(`Uses of the proxy: ${m.needs.map((n) => `\`${n}\``).join(', ')}.`);
    out.push(facts.join(' '), '');
    if (m.functions.length > 0) {
      out.push('| function | returns | description |', '|---|---|---|');
      for (const f of m.functions)
        out.push(`| ${signature(f)} | ${cell(returnsText(f))} | ${cell(f.doc)} |`);
      out.push('');
    }
    if (m.params.length > 0) {
      out.push(
        '| parameter | type | default | unit | flowgate | description |',
        '|---|---|---|---|---|---|',
      );
      for (const p of m.params)
        out.push(
          `| \`${p.name}\` | ${p.type} | ${fmt(p.default, true)} | ${p.unit ?? ''} | ${cell(paramMapping(m, p))} | ${cell(p.doc)} |`,
        );
      out.push('');
    }
    if (m.functions.length === 0 && m.params.length === 0)
      out.push('No functions and no parameters: loading it has no effect.', '');
  }
  return out;
}

/** The whole reference, as Markdown (formatted by Biome). */
export function configDocs(): string {
  return biomeFormat(rawDocs(), DOC_PATH);
}

function rawDocs(): string {
  const sections: Section[] = [];
  walk(configSchema as unknown as Schema, [], undefined, sections);
  const out: string[] = [
    '# Configuration reference',
    '',
    '<!-- Generated by scripts/gen-config-docs.ts from src/config/schema.ts, src/config/defaults.ts and src/modules/registry.ts. Do not edit: run `npx tsx scripts/gen-config-docs.ts`. -->',
    '',
    'flowgate reads one YAML file (`flowgate start -c flowgate.yaml`, `flowgate check flowgate.yaml`).',
    "Every key is optional: without a file, or with an empty one, flowgate runs the seed's whole system",
    '(an RFC 5626 edge proxy on 127.0.0.1:5060 relaying to a registrar on 127.0.0.1:5070),',
    'written out in `examples/flowgate.yaml`. `examples/edge.yaml` and `examples/registrar.yaml` run the two',
    'roles as separate processes.',
    '',
    'Names follow Kamailio: global parameters (`alias`, `force_rport`, `tcp_connection_lifetime`, `children`)',
    'are keys of an element, and `modparam("module", "param", value)` is `modules.<module>.<param>`, with',
    "Kamailio's defaults and units (tm timers in milliseconds, as in Kamailio). A built-in script sets what its",
    'seed configuration sets: the **edge** and **registrar** columns show where that differs from the default.',
    'Unknown keys are errors (top-level keys starting with `x-` excepted: they hold YAML anchors). Every error names the file, line and column, what is wrong and what would be',
    'right, e.g. `flowgate.yaml:12:7: elements.edge.modules.tm.fr_timer: expected a positive integer (milliseconds), got "abc"`.',
    '',
    'Environment: `${NAME}` in a value is replaced by the environment variable NAME, `${NAME:-default}` uses',
    '`default` when NAME is unset or empty, and `$${` writes a literal `${` (keys are never expanded). An unset',
    'variable without a default is an error at its line and column. In a plain (unquoted) value the result is',
    'read as a YAML scalar again, as if written there: `fr_timer: ${FR_TIMER}` is a number, `${FLAG:-true}` a',
    'boolean and `flow_token_secret: ${SECRET:-null}` null (unset, not the text "null"); any other text stays as',
    'substituted (quotes and `#` included), an empty value stays an empty string, and a quoted value is always a',
    'string (quote a secret that could read as a number: `"${SECRET}"`). An error about a value that came from',
    'the environment names the reference (`from ${SECRET}`) and never prints the value. Inside `{ }` or `[ ]` a',
    'reference must be quoted, so take numbers from the environment in block style:',
    '',
    '```yaml',
    'elements:',
    '  edge:',
    '    listen:',
    '      - udp:${SIP_ADDR:-127.0.0.1}:${SIP_PORT:-5060}',
    '    modules:',
    '      outbound:',
    '        flow_token_secret: ${FLOWGATE_FLOW_SECRET}',
    '```',
    '',
    'Relative paths: `data_dir`, `log.file`, `tls` files and script paths are relative to the configuration',
    "file's directory; `modules.usrloc.path` is relative to `data_dir`.",
    '',
    'A module key that is present loads the module (`outbound: {}`); `false` does not load it. The edge',
    'script loads `outbound` and `path`; the registrar script loads `registrar` (with `usrloc`).',
    '',
  ];
  for (const s of sections) {
    const title = s.path.length === 0 ? 'Top level' : `\`${s.path.join('.')}\``;
    out.push(`## ${title}`, '');
    if (s.desc !== undefined) out.push(s.desc, '');
    const profiled = isProfiled(s.path);
    if (s.rows.length > 0) {
      out.push(
        profiled
          ? '| key | type | default | edge | registrar | description |'
          : '| key | type | default | description |',
      );
      out.push(profiled ? '|---|---|---|---|---|---|' : '|---|---|---|---|');
    }
    if (s.rows.length === 0) out.push('No parameters: the key only loads the module.');
    else out.push(...s.rows);
    out.push('');
  }
  out.push(...moduleDocs());
  out.push(
    '## Listen entries',
    '',
    '`proto:address[:port][ advertise host[:port]]`, with proto one of `udp`, `tcp`, `tls`, `ws`, `wss`; IPv6',
    'addresses in brackets (`udp:[::1]:5060`), and in quotes inside a `[ ]` list, where `[` and `:` are YAML',
    'syntax (`listen: ["udp:[::1]:5060", tcp:127.0.0.1:5060]`). The port defaults to 5060 (UDP, TCP) or 5061 (TLS); WS and WSS',
    'need one. Port 0 takes any free port. The object form is `{ proto, address, port, advertise }`. A `tls:` or',
    "`wss:` listener needs the element's `tls` certificate. Two listeners may not share a port (TCP, TLS, WS and",
    'WSS share the TCP port space), nor may the management API.',
    '',
    '## One file for several processes: merge keys and --set',
    '',
    'YAML merge keys (`<<`, YAML 1.1) share settings between elements: `<<: *name` brings in the keys of',
    "the mapping anchored `&name`, `<<: [*a, *b]` those of several. The mapping's own keys win (written",
    'before or after `<<`), and of a list the first mapping that has a key gives it. A merge is shallow: a',
    'nested mapping the element sets replaces the merged one whole (a nested `<<` merges it instead).',
    'Top-level keys that start with `x-` are not read: they can hold the anchors. An error in a merged value',
    'points at the line and column where the value is written (inside the anchored mapping), and its path',
    'names the element it was merged into (`elements.edge2.modules.tm.fr_timer`).',
    '',
    '```yaml',
    'x-edge: &edge',
    '  script: edge',
    '  modules:',
    '    outbound:',
    '      flow_token_secret: ${FLOWGATE_FLOW_SECRET}',
    'elements:',
    '  edge:',
    '    <<: *edge',
    '    listen: [udp:10.0.0.1:5060, tcp:10.0.0.1:5060]',
    '  edge2:',
    '    <<: *edge',
    '    listen: [udp:10.0.0.1:5062, tcp:10.0.0.1:5062]',
    '  registrar:',
    '    listen: [udp:127.0.0.1:5070, tcp:127.0.0.1:5070]',
    '    modules: { auth: {} }',
    '```',
    '',
    '`flowgate start --set path.to.key=value` (and `flowgate check --set …`; repeatable, applied in order)',
    'changes one key as if the file said so. The path is the keys joined by dots; a list item is given by',
    'its index (`--set elements.edge.listen.0=…`, or `listen[0]` as messages write it), one past the end',
    'appends. The value is read as YAML in flow style: `5070` is a number, `[udp:127.0.0.1:5070]` a list,',
    '`{ backend: redis, url: "redis://10.0.0.5" }` a mapping, `\'"0123"\'` (quoted for the shell, then for',
    'YAML) text, and an empty value null. It replaces the value after `${…}` references are expanded (a',
    'reference it replaces need not be set; its own text is not expanded, the shell expands `$NAME`) and',
    'before the configuration is checked, so a wrong value gets the message the file would get, at the',
    'argument instead of a line: `--set elements.edge.tcp_connection_lifetime=abc: expected a positive',
    'integer (seconds), got "abc"`; an unknown key gets the nearest known one. Missing mappings on the way',
    'are created (a missing `elements` starts from the default edge and registrar). An element the file',
    "does not have is only set whole (`--set elements.edge3='{ script: edge, listen: [udp:127.0.0.1:5064] }'`):",
    'a key below a missing element is taken for a misspelt name. Relative paths are relative to the',
    'configuration file, as in it (`--data-dir` is relative to the working directory, and wins over',
    "`--set data_dir`). A secret's value is never shown in a message. Without `-c`, `--set` changes the",
    'built-in configuration. With a Kamailio `.cfg` file it changes the keys the file maps to',
    '(`elements.<file name>.…`, `management.listen`, `data_dir`); with `script: x.cfg` in YAML, a `--set`',
    "value wins over the `.cfg`'s.",
    '',
    'One process per element of the file above, each with its own management address and data directory',
    '(docs/deployment.md has a systemd template unit for this):',
    '',
    '```sh',
    'flowgate start -c host.yaml --role edge --set management.listen=127.0.0.1:8081 --set data_dir=/var/lib/flowgate/edge',
    'flowgate start -c host.yaml --role edge2 --set management.listen=127.0.0.1:8082 --set data_dir=/var/lib/flowgate/edge2',
    'flowgate start -c host.yaml --role registrar --set management.listen=127.0.0.1:8083 --set data_dir=/var/lib/flowgate/registrar',
    '```',
    '',
  );
  return `${out.join('\n')}`;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const text = configDocs();
  if (process.argv.includes('--check')) {
    let cur = '';
    try {
      cur = readFileSync(DOC_PATH, 'utf8');
    } catch {
      // missing: stale
    }
    if (cur !== text) {
      console.error(`${DOC_PATH} is out of date: run npx tsx scripts/gen-config-docs.ts`);
      process.exit(1);
    }
  } else {
    writeFileSync(DOC_PATH, text);
    console.log(`wrote ${DOC_PATH}`);
  }
}
