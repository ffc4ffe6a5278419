import { basename, dirname, isAbsolute, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { z } from 'zod';
import type { Script } from '../script/api.js';
import {
  CfgError,
  type CfgIssue,
  type CfgNote,
  type CompiledCfg,
  compileCfg,
  GLOBALS,
  PARAMS,
  type Pos,
} from '../script/cfg/index.js';
import { buildConfig, type PathIssue } from './build.js';
import { ConfigError, type ConfigIssue, formatPath } from './errors.js';
import { splitHostPort } from './listen.js';
import { type SetOverride, SetOverrides } from './overrides.js';
import { configSchema, elementSchema, type RawConfig, type RawElement } from './schema.js';
import type { Config, ConfigLocation, LogLevel } from './types.js';

/** What `loadConfig` passes on for a `.cfg` file. */
export interface CfgLoadOptions {
  readonly dataDir?: string | undefined;
  readonly logLevel?: LogLevel | undefined;
  readonly pretty?: boolean | undefined;
  readonly cwd?: string | undefined;
  readonly env?: Readonly<Record<string, string | undefined>> | undefined;
  /** `-A NAME[=VALUE]`: preprocessor defines (Kamailio `-A`). */
  readonly defines?: readonly string[] | undefined;
  /** `-l ADDRESS`: listeners instead of the file's `listen=` lines (Kamailio `-l`). */
  readonly listen?: readonly string[] | undefined;
  /**
   * `--set`: applied to the configuration the file maps to (its keys: `elements.<file name>.…`,
   * `management.listen`, `data_dir`) before validation, as to a YAML file's.
   */
  readonly overrides?: readonly SetOverride[] | undefined;
  /** Schema problems of `--set` values in words (load.ts's: did you mean, got …); else zod's. */
  readonly explain?:
    | ((
        issues: readonly z.core.$ZodIssue[],
      ) => readonly { path: readonly PropertyKey[]; message: string }[])
    | undefined;
}

/** True for a Kamailio configuration file name. */
export function isCfgFile(file: string): boolean {
  return /\.cfg$/i.test(file);
}

type Path = readonly (string | number)[];

/** Where each value of the built configuration came from in the `.cfg`, and how it is written there. */
class Origins {
  readonly #m = new Map<string, { pos: Pos; what: string }>();
  readonly #fallback: Pos;

  constructor(fallback: Pos) {
    this.#fallback = fallback;
  }

  set(path: Path, pos: Pos, what: string): void {
    this.#m.set(formatPath(path), { pos, what });
  }

  /** The origin of a path or of its nearest ancestor. */
  get(path: Path): { pos: Pos; what: string | undefined } {
    for (let n = path.length; n >= 0; n--) {
      const o = this.#m.get(formatPath(path.slice(0, n)));
      if (o !== undefined) return o;
    }
    return { pos: this.#fallback, what: undefined };
  }

  has(path: Path): boolean {
    return this.#m.has(formatPath(path));
  }
}

/** The element (and process-wide settings) a compiled `.cfg` describes, before validation. */
interface CfgMapping {
  readonly element: Record<string, unknown>;
  readonly management: string | false | undefined;
  readonly logLevel: LogLevel | undefined;
  readonly dataDir: string | undefined;
  readonly origins: Origins;
  readonly notes: CfgNote[];
  readonly issues: CfgIssue[];
}

function issue(pos: Pos, message: string): CfgIssue {
  return { file: pos.file, line: pos.line, col: pos.col, message };
}

function setPath(o: Record<string, unknown>, path: Path, v: unknown): void {
  let cur = o;
  for (let i = 0; i < path.length - 1; i++) {
    const k = String(path[i]);
    const next = cur[k];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      const fresh: Record<string, unknown> = {};
      cur[k] = fresh;
      cur = fresh;
    } else cur = next as Record<string, unknown>;
  }
  cur[String(path[path.length - 1])] = v;
}

/** Kamailio booleans: yes/no, on/off, true/false, 1/0. */
function flagValue(v: string | number): boolean | string | number {
  if (typeof v === 'number') return v;
  const s = v.trim().toLowerCase();
  if (['yes', 'on', 'true', '1'].includes(s)) return true;
  if (['no', 'off', 'false', '0'].includes(s)) return false;
  return v;
}

function intValue(v: string | number): number | string {
  if (typeof v === 'number') return v;
  return /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
}

function convert(v: string | number, kind: 'int' | 'flag' | 'string'): unknown {
  if (kind === 'int') return intValue(v);
  if (kind === 'flag') return flagValue(v);
  return String(v);
}

/** Kamailio `debug` levels → flowgate log levels. */
function logLevelOf(debug: number): LogLevel {
  if (debug <= -2) return 'fatal';
  if (debug === -1) return 'error';
  if (debug === 0) return 'warn';
  if (debug <= 2) return 'info';
  return debug === 3 ? 'debug' : 'trace';
}

/** The file name as an element name (letters, digits, `-`, `_`; a letter first). */
export function elementNameOf(file: string): string {
  let n = basename(file)
    .replace(/\.cfg$/i, '')
    .replace(/[^A-Za-z0-9_-]/g, '_');
  if (!/^[A-Za-z]/.test(n)) n = `cfg-${n}`;
  return n.slice(0, 32);
}

/**
 * One `listen=` value in Kamailio's syntax: `[proto:]address[:port] [advertise host[:port]] [name "x"]`.
 * Without a protocol it is UDP and TCP (and TLS when enable_tls).
 */
function listenEntries(
  value: string,
  port: number,
  tls: boolean,
  tcp: boolean,
): { ok: true; entries: string[] } | { ok: false; message: string } {
  const words = value.trim().split(/\s+/);
  const main = words[0] ?? '';
  let advertise: string | undefined;
  for (let i = 1; i < words.length; i++) {
    const w = words[i]?.toLowerCase();
    if (w === 'advertise' && words[i + 1] !== undefined) {
      advertise = words[++i];
      continue;
    }
    if (w === 'name' && words[i + 1] !== undefined) {
      i++;
      continue;
    }
    if (w === 'virtual') continue;
    return {
      ok: false,
      message: `listen=${value}: unexpected '${words[i]}' (expected advertise host:port or name "x")`,
    };
  }
  const m = /^(udp|tcp|tls|sctp|ws|wss):(.*)$/i.exec(main);
  const proto = m?.[1]?.toLowerCase();
  const rest = m === null ? main : (m[2] ?? '');
  if (proto === 'sctp')
    return {
      ok: false,
      message: `listen=${value}: SCTP is not supported by flowgate (udp, tcp, tls, ws, wss)`,
    };
  const hp = splitHostPort(rest);
  if (!hp.ok) return { ok: false, message: `listen=${value}: ${hp.message}` };
  const host = hp.value.host === '*' ? '0.0.0.0' : hp.value.host;
  // TLS (enable_tls) on its own port, 5061, when the line names no port
  const protos =
    proto !== undefined
      ? [proto]
      : ['udp', ...(tcp ? ['tcp'] : []), ...(tls && hp.value.port === undefined ? ['tls'] : [])];
  const adv = advertise === undefined ? '' : ` advertise ${advertise}`;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    ok: true,
    entries: protos.map((p) => {
      const pp = hp.value.port ?? (p === 'tls' ? 5061 : port);
      return `${p}:${h}:${pp}${adv}`;
    }),
  };
}

/**
 * Maps a compiled configuration onto a flowgate element: core globals (listen, alias, force_rport,
 * tcp_connection_lifetime, …), loaded modules and their modparams, the ctl module's binrpc socket
 * (the management API), runtime_dir (the data directory) and debug (the log level).
 */
function mapCfg(c: CompiledCfg, opts: CfgLoadOptions): CfgMapping {
  const p = c.program;
  const origins = new Origins({ file: c.shown, line: 1, col: 1 });
  const notes: CfgNote[] = [...c.notes];
  const issues: CfgIssue[] = [];
  const el: Record<string, unknown> = { script: c.file };
  const loaded = c.routes.modules;
  const dir = dirname(c.file);
  let management: string | false | undefined = loaded.has('ctl') ? undefined : false;
  let logLevel: LogLevel | undefined;
  let dataDir: string | undefined;

  // ---- globals
  let port = 5060;
  let tls = false;
  let tcp = true;
  for (const g of p.globals) {
    if (g.name === 'port') port = Number(intValue(g.value));
    if (g.name === 'enable_tls') tls = flagValue(g.value) === true;
    if (g.name === 'disable_tcp') tcp = flagValue(g.value) !== true;
  }
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    const g = p.globals.find((x) => x.name === 'port');
    if (g !== undefined)
      issues.push(issue(g.valuePos, `port=${g.value}: expected a port 1..65535`));
    port = 5060;
  }
  const listen: { entry: string; pos: Pos; what: string }[] = [];
  const alias: string[] = [];
  for (const g of p.globals) {
    const d = GLOBALS[g.name];
    if (d === undefined || 'none' in d) continue;
    if ('to' in d) {
      setPath(el, d.to, convert(g.value, d.value));
      origins.set(['elements', '*', ...d.to], g.valuePos, `${g.name}=${g.value}`);
      continue;
    }
    switch (d.special) {
      case 'listen': {
        const r = listenEntries(g.value, port, tls, tcp);
        if (!r.ok) issues.push(issue(g.valuePos, r.message));
        else
          for (const e of r.entries)
            listen.push({ entry: e, pos: g.valuePos, what: `listen=${g.value}` });
        break;
      }
      case 'alias': {
        // alias=[proto:]host[:port]: flowgate's aliases are host names, any port and transport
        const v = g.value.replace(/^(udp|tcp|tls|sctp|ws|wss):/i, '');
        const hp = splitHostPort(v);
        if (!hp.ok || hp.value.host === '')
          issues.push(issue(g.valuePos, `alias=${g.value}: expected a host name`));
        else {
          if (hp.value.port !== undefined || v !== g.value)
            notes.push({
              pos: g.valuePos,
              message: `alias=${g.value}: flowgate's aliases match the host with any port and transport`,
            });
          alias.push(hp.value.host);
          origins.set(['elements', '*', 'alias', alias.length - 1], g.valuePos, `alias=${g.value}`);
        }
        break;
      }
      case 'server_header':
        el['server_header'] = g.value;
        origins.set(['elements', '*', 'server_header'], g.valuePos, `server_header=${g.value}`);
        break;
      case 'server_signature':
        if (flagValue(g.value) === false && el['server_header'] === undefined)
          el['server_header'] = null;
        break;
      case 'debug': {
        const n = Number(intValue(g.value));
        if (!Number.isInteger(n))
          issues.push(
            issue(g.valuePos, `debug=${g.value}: expected a level -5..3 (2 = info, 3 = debug)`),
          );
        else logLevel = logLevelOf(n);
        break;
      }
      case 'runtime_dir':
        dataDir = isAbsolute(g.value) ? g.value : resolve(dir, g.value);
        origins.set(['data_dir'], g.valuePos, `runtime_dir=${g.value}`);
        break;
      case 'allow_unauthenticated':
        el['allow_unauthenticated'] = flagValue(g.value);
        origins.set(
          ['elements', '*', 'allow_unauthenticated'],
          g.valuePos,
          `allow_unauthenticated=${g.value}`,
        );
        break;
      default:
        break;
    }
  }
  if (alias.length > 0) el['alias'] = alias;

  // ---- listeners: -l replaces the file's; WebSocket ports from the xhttp route
  const fromCli = opts.listen !== undefined && opts.listen.length > 0;
  if (fromCli) {
    listen.length = 0;
    const cli: Pos = { file: 'command line', line: 1, col: 1 };
    for (const l of opts.listen ?? []) {
      const r = listenEntries(l, port, tls, tcp);
      if (!r.ok) issues.push(issue(cli, `-l ${r.message.replace(/^listen=/, '')}`));
      else for (const e of r.entries) listen.push({ entry: e, pos: cli, what: `-l ${l}` });
    }
  } else if (listen.length === 0) {
    const r = listenEntries(`127.0.0.1:${port}`, port, false, tcp);
    if (r.ok)
      for (const e of r.entries)
        listen.push({
          entry: e,
          pos: { file: c.shown, line: 1, col: 1 },
          what: 'the default listeners',
        });
    notes.push({
      pos: { file: c.shown, line: 1, col: 1 },
      message: `no listen=: flowgate listens on 127.0.0.1:${port} (UDP and TCP), Kamailio on every address; write listen= (or start with -l) for others`,
    });
  }
  const wsPorts = new Set(c.routes.wsPorts);
  const ws = loaded.has('websocket') && c.routes.wsHandshake;
  const xhttp = c.routes.skipped.find((s) => s.block.name === 'xhttp:request')?.block;
  if (ws && wsPorts.size === 0 && xhttp !== undefined)
    issues.push(
      issue(
        xhttp.namePos,
        'flowgate serves WebSocket on listeners of their own: test the WebSocket port in event_route[xhttp:request] (if ($Rp != 8080) { xhttp_reply("403", …); exit; }) so flowgate knows which TCP listener is the WebSocket one',
      ),
    );
  if (loaded.has('websocket') && !c.routes.wsHandshake)
    notes.push({
      pos: p.modules.find((m) => m.name === 'websocket')?.pos ?? { file: c.shown, line: 1, col: 1 },
      message:
        'websocket is loaded but no event_route[xhttp:request] calls ws_handle_handshake(): no listener speaks WebSocket',
    });
  el['listen'] = listen.map((l, i) => {
    let e = l.entry;
    const m = /^(tcp|tls):(\S+):(\d+)(.*)$/.exec(e);
    if (ws && m !== null && wsPorts.has(Number(m[3]))) {
      e = `${m[1] === 'tls' ? 'wss' : 'ws'}:${m[2]}:${m[3]}${m[4] ?? ''}`;
      notes.push({
        pos: l.pos,
        message: `${l.what}: port ${m[3]} is the WebSocket port of event_route[xhttp:request]: flowgate listens there as ${e.split(' ')[0]} (WebSocket only; Kamailio also accepts SIP over TCP on it)`,
      });
    }
    origins.set(['elements', '*', 'listen', i], l.pos, l.what);
    if (i === 0) origins.set(['elements', '*', 'listen'], l.pos, l.what);
    return e;
  });

  // ---- modules
  const modules: Record<string, unknown> = {};
  el['modules'] = modules;
  const modPos = (name: string): Pos =>
    p.modules.find((m) => m.name === name)?.pos ?? { file: c.shown, line: 1, col: 1 };
  for (const m of ['outbound', 'path', 'registrar', 'auth', 'pike', 'nathelper']) {
    if (loaded.has(m)) {
      modules[m] = {};
      origins.set(['elements', '*', 'modules', m], modPos(m), `loadmodule "${m}.so"`);
    }
  }
  // a module not loaded is not loaded (outbound alone would otherwise bring path)
  if (!loaded.has('path')) modules['path'] = false;
  if (loaded.has('registrar')) {
    modules['usrloc'] = { backend: 'memory' };
    origins.set(
      ['elements', '*', 'modules', 'usrloc'],
      modPos(loaded.has('usrloc') ? 'usrloc' : 'registrar'),
      'usrloc (db_mode 0: memory)',
    );
  } else if (loaded.has('usrloc'))
    notes.push({
      pos: modPos('usrloc'),
      message: 'usrloc without registrar: nothing uses the location store',
    });
  if (loaded.has('auth_db') && !loaded.has('auth'))
    issues.push(
      issue(modPos('auth_db'), 'auth_db needs the auth module: add loadmodule "auth.so" before it'),
    );
  const usrloc: { mode?: number; url?: string; urlPos?: Pos; modePos?: Pos } = {};
  let tlsFiles: Record<string, string> | undefined;
  for (const mp of p.modparams) {
    for (const name of mp.modules) {
      const def = PARAMS[name]?.[mp.param];
      if (def === undefined || 'none' in def) continue;
      const what = `modparam("${name}", "${mp.param}", ${JSON.stringify(mp.value)})`;
      if ('to' in def) {
        // a parameter of a toggled module loads it with its parameters
        const path = ['modules', ...def.to.slice(1)];
        const modKey = def.to[1] as string;
        if (modules[modKey] === false) continue;
        setPath(el, path, convert(mp.value, def.value));
        origins.set(['elements', '*', ...path], mp.valuePos, what);
        continue;
      }
      switch (def.special) {
        case 'usrloc.db_mode':
          usrloc.mode = Number(intValue(mp.value));
          usrloc.modePos = mp.valuePos;
          break;
        case 'usrloc.db_url':
          usrloc.url = String(mp.value);
          usrloc.urlPos = mp.valuePos;
          break;
        case 'auth_db.db_url': {
          const r = dbUrl(String(mp.value), 'auth_db');
          if (!r.ok) issues.push(issue(mp.valuePos, `${what}: ${r.message}`));
          else {
            modules['auth_db'] = {
              ...((modules['auth_db'] as object | undefined) ?? {}),
              ...r.value,
            };
            origins.set(['elements', '*', 'modules', 'auth_db'], mp.valuePos, what);
            if (r.note !== undefined)
              notes.push({ pos: mp.valuePos, message: `${what}: ${r.note}` });
          }
          break;
        }
        case 'auth_db.load_credentials':
          if (String(mp.value).trim() !== '')
            issues.push(
              issue(
                mp.valuePos,
                `${what}: loading credential columns into AVPs is not supported by flowgate (use "")`,
              ),
            );
          break;
        case 'auth.algorithm': {
          const a = String(mp.value).toUpperCase();
          if (a !== 'MD5' && a !== 'SHA-256')
            issues.push(issue(mp.valuePos, `${what}: expected "MD5" or "SHA-256"`));
          else {
            setPath(el, ['modules', 'auth', 'algorithms'], [a]);
            origins.set(['elements', '*', 'modules', 'auth', 'algorithms'], mp.valuePos, what);
          }
          break;
        }
        case 'permissions.trusted':
        case 'permissions.edges': {
          const k = def.special.split('.')[1] as string;
          const list = String(mp.value)
            .split(/[\s,]+/)
            .filter((x) => x !== '');
          setPath(el, ['modules', 'permissions', k], list);
          origins.set(['elements', '*', 'modules', 'permissions', k], mp.valuePos, what);
          break;
        }
        case 'ctl.binrpc': {
          const v = String(mp.value);
          const t = /^tcp:(.+)$/i.exec(v);
          if (t !== null && management === undefined) {
            const hp = splitHostPort(t[1] ?? '');
            if (!hp.ok || hp.value.port === undefined)
              issues.push(issue(mp.valuePos, `${what}: expected tcp:host:port`));
            else {
              const h = hp.value.host.includes(':') ? `[${hp.value.host}]` : hp.value.host;
              management = `${h}:${hp.value.port}`;
              origins.set(['management', 'listen'], mp.valuePos, what);
              notes.push({
                pos: mp.valuePos,
                message: `${what}: flowgate's management API (HTTP, bearer token; flowgate ctl) listens there instead of binrpc`,
              });
            }
          } else if (t === null)
            notes.push({
              pos: mp.valuePos,
              message: `${what}: flowgate cannot serve binrpc on a ${v.split(':')[0]} socket; the management API is off (modparam("ctl", "binrpc", "tcp:127.0.0.1:PORT") puts it on a TCP port)`,
            });
          break;
        }
        case 'tls.certificate':
        case 'tls.private_key':
        case 'tls.ca_list': {
          const k =
            def.special === 'tls.certificate'
              ? 'cert'
              : def.special === 'tls.private_key'
                ? 'key'
                : 'ca';
          const v = String(mp.value);
          tlsFiles = { ...(tlsFiles ?? {}), [k]: isAbsolute(v) ? v : resolve(dir, v) };
          origins.set(['elements', '*', 'tls', k], mp.valuePos, what);
          break;
        }
        default:
          break;
      }
    }
  }
  if (tlsFiles !== undefined) el['tls'] = tlsFiles;
  // usrloc db_mode / db_url: 0 (default) keeps bindings in memory, as Kamailio does
  if (loaded.has('registrar')) {
    if ((usrloc.mode ?? 0) === 0) {
      if (usrloc.url !== undefined && usrloc.urlPos !== undefined)
        notes.push({
          pos: usrloc.urlPos,
          message: 'usrloc db_url has no effect with db_mode 0 (bindings in memory)',
        });
    } else if (usrloc.url === undefined) {
      issues.push(
        issue(
          usrloc.modePos ?? modPos('usrloc'),
          `modparam("usrloc", "db_mode", ${usrloc.mode}) needs modparam("usrloc", "db_url", "sqlite:///path/location.db") or a redis:// URL`,
        ),
      );
    } else {
      const r = dbUrl(usrloc.url, 'usrloc');
      if (!r.ok || r.value['backend'] === undefined)
        issues.push(
          issue(
            usrloc.urlPos ?? modPos('usrloc'),
            `modparam("usrloc", "db_url", "${usrloc.url}"): ${r.ok ? "flowgate's location store is memory, sqlite:// or redis://" : r.message}`,
          ),
        );
      else {
        modules['usrloc'] = { ...((modules['usrloc'] as object | undefined) ?? {}), ...r.value };
        origins.set(
          ['elements', '*', 'modules', 'usrloc'],
          usrloc.urlPos ?? modPos('usrloc'),
          `modparam("usrloc", "db_url", "${usrloc.url}")`,
        );
      }
    }
  }
  return { element: el, management, logLevel, dataDir, origins, notes, issues };
}

/** A Kamailio db_url as a flowgate store: `sqlite:///path`, `redis://…`; `text://` (db_text) → SQLite. */
function dbUrl(
  url: string,
  module: 'usrloc' | 'auth_db',
): { ok: true; value: Record<string, unknown>; note?: string } | { ok: false; message: string } {
  const sq = /^sqlite:\/\/(.*)$/i.exec(url);
  if (sq !== null) return { ok: true, value: { backend: 'sqlite', path: sq[1] ?? '' } };
  if (/^rediss?(\+(sentinel|cluster))?:\/\//i.test(url))
    return { ok: true, value: { backend: 'redis', url } };
  if (/^text:\/\//i.test(url) && module === 'auth_db')
    return {
      ok: true,
      value: { backend: 'sqlite' },
      note: `flowgate does not read db_text tables: users are kept in subscriber.db in the data directory (add them with flowgate user add user@domain -c <this file>)`,
    };
  const scheme = url.split(':')[0];
  return {
    ok: false,
    message: `flowgate's ${module === 'usrloc' ? 'location' : 'credentials'} store is sqlite:///path or redis://host (${scheme} is not supported)`,
  };
}

function toCfgIssues(e: unknown): CfgIssue[] {
  if (e instanceof CfgError) return [...e.issues];
  throw e;
}

function asConfigIssue(i: CfgIssue): ConfigIssue {
  return { file: i.file, line: i.line, col: i.col, path: '', message: i.message };
}

/** A schema problem of a mapped value, said the way the `.cfg` writes it. */
function schemaIssues(
  issues: readonly z.core.$ZodIssue[],
  prefix: Path,
  origins: Origins,
  name: string,
): CfgIssue[] {
  const out: CfgIssue[] = [];
  const walk = (list: readonly z.core.$ZodIssue[], pre: Path): void => {
    for (const iss of list) {
      const path = [...pre, ...iss.path] as (string | number)[];
      if (
        iss.code === 'invalid_union' &&
        iss.errors.length > 0 &&
        iss.errors.some((x) => x.some((y) => y.path.length > 0))
      ) {
        const best = iss.errors.find((x) => x.some((y) => y.path.length > 0)) ?? [];
        walk(best, path);
        continue;
      }
      const generic = [...path];
      if (generic[1] === name) generic[1] = '*';
      const o = origins.get(generic);
      out.push(issue(o.pos, `${o.what === undefined ? formatPath(path) : o.what}: ${iss.message}`));
    }
  };
  walk(issues, prefix);
  return out;
}

/** Adds the `.cfg` way out to the issue-10 "public address without authentication" refusal. */
function cfgHint(message: string): string {
  if (!message.includes('nothing authenticates')) return message;
  return `${message.replace(/: (load|set) .*$/, '')}: load auth and call auth_check()/www_authorize() in the routes, listen on a loopback address, or (an edge whose registrar authenticates) set allow_unauthenticated=yes inside #!ifdef FLOWGATE … #!endif`;
}

function deepFreeze<T>(o: T): T {
  if (typeof o !== 'object' || o === null || Object.isFrozen(o)) return o;
  for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}

/**
 * Loads a Kamailio configuration file as a flowgate configuration of one element (`flowgate start
 * -c edge.cfg`): the element is named after the file; its listeners, aliases and module
 * parameters come from the file's globals and modparams; the routes are compiled once. Data lives
 * in `<file's directory>/<name>.data` (or `runtime_dir`, or `--data-dir`); the management API only
 * where `modparam("ctl", "binrpc", "tcp:host:port")` puts it, so two processes started from two
 * files never share a port or a directory.
 * @throws ConfigError with every problem, each at the file:line:col of the `.cfg`.
 */
export function loadCfgConfig(file: string, opts: CfgLoadOptions = {}): Config {
  const cwd = opts.cwd ?? process.cwd();
  let c: CompiledCfg;
  try {
    c = compileCfg(file, { cwd, defines: opts.defines, env: opts.env });
  } catch (e) {
    throw new ConfigError(toCfgIssues(e).map(asConfigIssue), { cause: e });
  }
  const name = elementNameOf(c.file);
  const m = mapCfg(c, opts);
  const issues: CfgIssue[] = [...m.issues];
  const raw: Record<string, unknown> = {
    data_dir: m.dataDir ?? resolve(dirname(c.file), `${name}.data`),
    management: { listen: m.management ?? false },
    elements: { [name]: m.element },
  };
  if (m.logLevel !== undefined) raw['log'] = { level: m.logLevel };
  // --set on the keys the .cfg maps to; their problems name the argument, not a .cfg line
  let overrides = SetOverrides.none;
  const fromSet: ConfigIssue[] = [];
  if ((opts.overrides?.length ?? 0) > 0) {
    const r = SetOverrides.apply(raw, opts.overrides ?? []);
    fromSet.push(...r.issues);
    overrides = r.overrides;
  }
  const parsed = configSchema.safeParse(raw, { reportInput: true });
  if (!parsed.success) {
    // the problems of --set values apart; an unknown key is at the path of its mapping
    const ours: z.core.$ZodIssue[] = [];
    const rest: z.core.$ZodIssue[] = [];
    for (const i of parsed.error.issues) {
      if (i.code !== 'unrecognized_keys') {
        (overrides.location(i.path) === undefined ? rest : ours).push(i);
        continue;
      }
      const mine = i.keys.filter((k) => overrides.location([...i.path, k]) !== undefined);
      if (mine.length > 0) ours.push({ ...i, keys: mine });
      if (mine.length === 0) rest.push(i);
      else if (mine.length < i.keys.length)
        rest.push({ ...i, keys: i.keys.filter((k) => !mine.includes(k)) });
    }
    const explained =
      opts.explain?.(ours) ?? ours.map((i) => ({ path: i.path, message: i.message }));
    for (const e of explained) {
      const i = overrides.issue(e.path, e.message);
      if (i !== undefined) fromSet.push(i);
    }
    issues.push(...schemaIssues(rest, [], m.origins, name));
  }
  if (issues.length > 0 || fromSet.length > 0 || !parsed.success)
    throw new ConfigError(overrides.sort([...fromSet, ...sortCfg(issues, c).map(asConfigIssue)]));
  const built = buildConfig(parsed.data, {
    file: c.file,
    dir: dirname(c.file),
    dataDir: opts.dataDir === undefined ? undefined : resolve(cwd, opts.dataDir),
    logLevel: opts.logLevel,
    pretty: opts.pretty,
  });
  const where = (path: Path): ConfigLocation => {
    const set = overrides.location(path);
    if (set !== undefined) return set;
    const g = [...path];
    if (g[0] === 'elements' && g[1] === name) g[1] = '*';
    const o = m.origins.get(g);
    return { file: o.pos.file, line: o.pos.line, col: o.pos.col };
  };
  if (!built.ok)
    throw new ConfigError(
      built.issues.map((i: PathIssue) => {
        const set = overrides.issue(i.path, i.message);
        if (set !== undefined) return set;
        const w = where(i.path);
        const o = m.origins.get(
          i.path[0] === 'elements' ? ['elements', '*', ...i.path.slice(2)] : i.path,
        );
        return {
          file: w.file,
          line: w.line,
          col: w.col,
          path: '',
          message: `${o.what === undefined ? formatPath(i.path) : o.what}: ${cfgHint(i.message)}`,
        };
      }),
    );
  const el = built.config.elements[name];
  if (el === undefined) throw new Error(`internal: element ${name} missing`);
  const script = c.script();
  const config: Config = {
    ...built.config,
    elements: {
      [name]: {
        ...el,
        script: {
          kind: 'file',
          path: c.file,
          source: c.shown,
          compiled: script,
          notes: noteLines(m.notes),
        },
      },
    },
    where,
  };
  return deepFreeze(config);
}

function noteLines(notes: readonly CfgNote[]): string[] {
  return [...notes]
    .sort(
      (a, b) =>
        a.pos.file.localeCompare(b.pos.file) || a.pos.line - b.pos.line || a.pos.col - b.pos.col,
    )
    .map((n) => `${n.pos.file}:${n.pos.line}:${n.pos.col}: ${n.message}`);
}

function sortCfg(issues: CfgIssue[], c: CompiledCfg): CfgIssue[] {
  const files = c.program.files;
  return issues.sort(
    (a, b) =>
      (files.indexOf(a.file) + 1 || 1e9) - (files.indexOf(b.file) + 1 || 1e9) ||
      a.line - b.line ||
      a.col - b.col,
  );
}

/** What {@link mergeCfgScripts} returns. */
export interface CfgMerge {
  /** The configuration with each `.cfg` element's settings merged in. */
  readonly raw: RawConfig;
  /** Compiled scripts and notes, by element. */
  readonly scripts: ReadonlyMap<string, { script: Script; notes: string[] }>;
  readonly issues: readonly ConfigIssue[];
}

/** Leaves of a plain object (arrays are leaves), with their paths. */
function leaves(
  o: unknown,
  path: (string | number)[] = [],
  out: [Path, unknown][] = [],
): [Path, unknown][] {
  if (typeof o === 'object' && o !== null && !Array.isArray(o) && Object.keys(o).length > 0) {
    for (const [k, v] of Object.entries(o)) leaves(v, [...path, k], out);
  } else out.push([path, o]);
  return out;
}

function getPath(o: unknown, path: Path): unknown {
  let cur = o;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[String(k)];
  }
  return cur;
}

/**
 * `script: ./registrar.cfg` in flowgate.yaml: compiles each such script (its errors at the
 * `.cfg`'s file:line:col) and merges what the `.cfg` sets into its element. The YAML stays in
 * charge: a setting both give must be equal (otherwise an error at the `.cfg` line naming the YAML
 * key), unless `--set` gave it (the command line wins); one only the `.cfg` gives applies (its
 * listen=, alias=, modparams, and the modules it loads). Process-wide settings of the `.cfg` (debug, runtime_dir, the ctl socket) are the YAML's
 * (log, data_dir, management) and are not read.
 */
export function mergeCfgScripts(
  raw: RawConfig,
  ctx: {
    dir: string;
    cwd: string;
    shownYaml: string;
    defines?: readonly string[] | undefined;
    env?: Readonly<Record<string, string | undefined>> | undefined;
    /** True for a config path a `--set` wrote (at, above or below it): its value applies. */
    overridden?: ((path: Path) => boolean) | undefined;
  },
): CfgMerge {
  const issues: ConfigIssue[] = [];
  const scripts = new Map<string, { script: Script; notes: string[] }>();
  const elements = raw.elements;
  if (elements === undefined) return { raw, scripts, issues };
  const merged: Record<string, RawElement> = { ...elements };
  for (const [name, re] of Object.entries(elements)) {
    const s = re.script;
    if (s === undefined || !isCfgFile(s)) continue;
    const path = isAbsolute(s) ? s : resolve(ctx.dir, s);
    let c: CompiledCfg;
    try {
      c = compileCfg(path, { cwd: ctx.cwd, defines: ctx.defines, env: ctx.env });
    } catch (e) {
      issues.push(...toCfgIssues(e).map(asConfigIssue));
      continue;
    }
    const m = mapCfg(c, {});
    const errs: CfgIssue[] = [...m.issues];
    // the ctl socket does not apply here (see below)
    const notes = m.notes.filter((n) => !n.message.startsWith('modparam("ctl"'));
    // the .cfg's own listen only when it has listen= lines (not flowgate's loopback default)
    const cfgEl: Record<string, unknown> = { ...m.element };
    delete cfgEl['script'];
    if (!c.program.globals.some((g) => g.name === 'listen')) delete cfgEl['listen'];
    const mods = cfgEl['modules'] as Record<string, unknown>;
    // "not loaded" is no opinion here: the YAML may load more than the routes need
    for (const [k, v] of Object.entries(mods)) if (v === false) delete mods[k];
    // the location store's backend only when the .cfg says (db_mode / db_url), not its default
    const u = mods['usrloc'] as Record<string, unknown> | undefined;
    const dbSet = c.program.modparams.some(
      (mp) => mp.modules.includes('usrloc') && (mp.param === 'db_mode' || mp.param === 'db_url'),
    );
    if (u !== undefined && !dbSet) {
      delete u['backend'];
      if (Object.keys(u).length === 0) delete mods['usrloc'];
    }
    const pe = elementSchema.safeParse(cfgEl, { reportInput: true });
    if (!pe.success) {
      errs.push(...schemaIssues(pe.error.issues, ['elements', name], m.origins, name));
      issues.push(...errs.map(asConfigIssue));
      continue;
    }
    const out = structuredClone(re) as Record<string, unknown>;
    // a module the .cfg loads (its routes call its functions) and the YAML switches off
    const off = new Set<string>();
    for (const k of Object.keys(pe.data.modules ?? {})) {
      if (getPath(re, ['modules', k]) !== false) continue;
      off.add(k);
      const o = m.origins.get(['elements', '*', 'modules', k]);
      errs.push(
        issue(
          o.pos,
          `${o.what ?? k}: the .cfg loads ${k}, but elements.${name}.modules.${k} is false in ${ctx.shownYaml}`,
        ),
      );
    }
    for (const [p, v] of leaves(pe.data)) {
      if (p[0] === 'modules' && off.has(String(p[1]))) continue;
      const yv = getPath(re, p);
      const o = m.origins.get(['elements', '*', ...p]);
      if (yv === undefined) {
        setPath(out, p, v);
        continue;
      }
      // a --set from the command line overrides the .cfg as it overrides the YAML
      if (ctx.overridden?.(['elements', name, ...p]) === true) continue;
      // `{}`: the .cfg loads the module; any parameters the YAML gives it agree with that
      const loadsOnly =
        typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 0;
      if (loadsOnly && typeof yv === 'object' && yv !== null) continue;
      if (!isDeepStrictEqual(yv, v))
        errs.push(
          issue(
            o.pos,
            `${o.what ?? formatPath(p)} conflicts with elements.${name}.${formatPath(p)} in ${ctx.shownYaml}: in a YAML configuration the YAML's value applies; remove one of them or make them equal`,
          ),
        );
    }
    for (const g of c.program.globals)
      if (g.name === 'debug' || g.name === 'runtime_dir')
        notes.push({
          pos: g.pos,
          message: `${g.name}=${g.value} is not read: ${g.name === 'debug' ? 'log.level' : 'data_dir'} of ${ctx.shownYaml} applies`,
        });
    if (m.management !== false && m.management !== undefined)
      notes.push({
        pos: m.origins.get(['management', 'listen']).pos,
        message: `the ctl socket is not read: management.listen of ${ctx.shownYaml} applies`,
      });
    if (errs.length > 0) {
      issues.push(...sortCfg(errs, c).map(asConfigIssue));
      continue;
    }
    merged[name] = { ...(out as RawElement), script: path };
    scripts.set(name, { script: c.script(), notes: noteLines(notes) });
  }
  return { raw: { ...raw, elements: merged }, scripts, issues };
}
