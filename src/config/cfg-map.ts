import { dirname, isAbsolute, resolve } from 'node:path';
import {
  type CfgIssue,
  type CfgNote,
  type CompiledCfg,
  GLOBALS,
  PARAMS,
  type Pos,
} from '../script/cfg/index.js';
import { issue, Origins } from './cfg-common.js';
import {
  convert,
  dbUrl,
  flagValue,
  intValue,
  listenEntries,
  logLevelOf,
  setPath,
} from './cfg-values.js';
import { splitHostPort } from './listen.js';
import type { LogLevel } from './types.js';

/** The element (and process-wide settings) a compiled `.cfg` describes, before validation. */
export interface CfgMapping {
  readonly element: Record<string, unknown>;
  readonly management: string | false | undefined;
  readonly logLevel: LogLevel | undefined;
  readonly dataDir: string | undefined;
  readonly origins: Origins;
  readonly notes: CfgNote[];
  readonly issues: CfgIssue[];
}

/**
 * Maps a compiled configuration onto a flowgate element: core globals (listen, alias, force_rport,
 * tcp_connection_lifetime, …), loaded modules and their modparams, the ctl module's binrpc socket
 * (the management API), runtime_dir (the data directory) and debug (the log level).
 */
export function mapCfg(
  c: CompiledCfg,
  opts: { readonly listen?: readonly string[] | undefined },
): CfgMapping {
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
