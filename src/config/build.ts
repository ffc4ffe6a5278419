import { isAbsolute, resolve } from 'node:path';
import { parseSipUriStrict } from '../message/parse/uri.js';
import type { ListenConfig } from '../transport/types.js';
import { checkPorts, checkPublic, defaultEdges } from './build-checks.js';
import { orUndefined, type PathIssue } from './build-common.js';
import { buildModules } from './build-modules.js';
import {
  BUILTIN_SCRIPTS,
  EDGE_DEFAULTS,
  ELEMENT_DEFAULTS,
  PROFILES,
  ROOT_DEFAULTS,
} from './defaults.js';
import {
  checkListenAddress,
  isLoopback,
  type ListenEntry,
  parseHostPort,
  parseListen,
} from './listen.js';
import type { RawConfig, RawElement } from './schema.js';
import { closest } from './suggest.js';
import type {
  BuiltinScript,
  Config,
  EdgeConfig,
  ElementConfig,
  ScriptRef,
  TlsFiles,
} from './types.js';

export type { PathIssue } from './build-common.js';

/** Where the file is and what the command line overrides. */
export interface BuildContext {
  /** Absolute path of the file; undefined for the embedded default. */
  readonly file: string | undefined;
  /** Directory relative paths resolve against. */
  readonly dir: string;
  /** `--data-dir` (resolved against the working directory by the caller). */
  readonly dataDir?: string | undefined;
  readonly logLevel?: Config['log']['level'] | undefined;
  readonly pretty?: boolean | undefined;
}

/** The default elements when the file has no `elements` key: the seed's whole system. */
export const DEFAULT_ELEMENTS: Readonly<Record<string, RawElement>> = Object.freeze({
  edge: {},
  registrar: {},
});

const SCRIPT_FILE = /\.(?:m?js|cjs|m?ts|cts|cfg)$/;

function uriHost(address: string): string {
  const a = address === '0.0.0.0' ? '127.0.0.1' : address === '::' ? '::1' : address;
  return a.includes(':') ? `[${a}]` : a;
}

/** Applies every default and checks what the schema cannot: the result, or the problems with their paths. */
export function buildConfig(
  raw: RawConfig,
  ctx: BuildContext,
): { ok: true; config: Omit<Config, 'where'> } | { ok: false; issues: PathIssue[] } {
  const issues: PathIssue[] = [];
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(ctx.dir, p));
  const dataDir = ctx.dataDir ?? rel(raw.data_dir ?? ROOT_DEFAULTS.data_dir);

  // ---- log
  const log = {
    level: ctx.logLevel ?? raw.log?.level ?? ROOT_DEFAULTS.log.level,
    pretty: ctx.pretty ?? raw.log?.pretty ?? ROOT_DEFAULTS.log.pretty,
    file: raw.log?.file === undefined || raw.log.file === null ? undefined : rel(raw.log.file),
  };

  // ---- management
  const token = orUndefined(raw.management?.token);
  let mgmtListen: { host: string; port: number } | undefined;
  const ml = raw.management?.listen;
  if (ml === undefined || typeof ml === 'string') {
    const r = parseHostPort(ml ?? ROOT_DEFAULTS.management.listen);
    if (!r.ok) issues.push({ path: ['management', 'listen'], message: r.message });
    else {
      mgmtListen = r.value;
      if (!isLoopback(r.value.host) && token === undefined) {
        issues.push({
          path: ['management', 'listen'],
          message: `${ml} is not a loopback address, so the API needs a token: set management.token (at least 16 characters, e.g. from openssl rand -hex 16), or listen on 127.0.0.1`,
        });
      }
    }
  }

  // ---- elements
  const rawElements = raw.elements ?? DEFAULT_ELEMENTS;
  const names = Object.keys(rawElements);
  if (names.length === 0)
    issues.push({
      path: ['elements'],
      message: 'expected at least one element, e.g. elements: { edge: {}, registrar: {} }',
    });

  const scripts = new Map<string, ScriptRef>();
  for (const name of names) {
    const re = rawElements[name] ?? {};
    const s = re.script ?? (name === 'edge' || name === 'registrar' ? name : undefined);
    if (s === undefined) {
      issues.push({
        path: ['elements', name],
        message: `script is required: edge, registrar, static, or a path to a .js/.mjs/.ts script (only elements named edge or registrar get a default)`,
      });
      continue;
    }
    if ((BUILTIN_SCRIPTS as readonly string[]).includes(s)) {
      scripts.set(name, { kind: 'builtin', name: s as BuiltinScript });
    } else if (SCRIPT_FILE.test(s) || s.includes('/') || s.includes('\\')) {
      scripts.set(name, { kind: 'file', path: rel(s), source: s });
    } else {
      const near = closest(s, BUILTIN_SCRIPTS);
      issues.push({
        path: ['elements', name, 'script'],
        message: `unknown built-in script '${s}'${near === undefined ? '' : ` (did you mean '${near}'?)`}: expected edge, registrar, static, or a path to a .js/.mjs/.ts file`,
      });
    }
  }

  // listeners first: the edge's registrar URI may come from the registrar element's listeners
  const listens = new Map<string, ListenConfig[]>();
  const tlsOf = new Map<string, TlsFiles | undefined>();
  for (const name of names) {
    const re = rawElements[name] ?? {};
    const ref = scripts.get(name);
    if (ref === undefined) continue; // its script is in error: no default listeners to clash with
    const profile = PROFILES[ref.kind === 'builtin' ? ref.name : 'custom'];
    const tls: TlsFiles | undefined =
      re.tls === undefined
        ? undefined
        : {
            cert: rel(re.tls.cert),
            key: rel(re.tls.key),
            ca: re.tls.ca === undefined || re.tls.ca === null ? undefined : rel(re.tls.ca),
          };
    tlsOf.set(name, tls);
    const given =
      re.listen === undefined ? undefined : Array.isArray(re.listen) ? re.listen : [re.listen];
    const explicit = given !== undefined;
    const entries: ListenEntry[] = [];
    if (given === undefined) {
      for (const s of tls === undefined
        ? profile.listen
        : [...profile.listen, ...profile.listenTls]) {
        const r = parseListen(s);
        if (r.ok) entries.push(r.value);
      }
    } else entries.push(...(given as ListenEntry[]));
    if (explicit && entries.length === 0)
      issues.push({
        path: ['elements', name, 'listen'],
        message: 'expected at least one listener, e.g. [udp:127.0.0.1:5060]',
      });
    const out: ListenConfig[] = [];
    entries.forEach((e, i) => {
      const at = explicit
        ? ['elements', name, 'listen', ...(Array.isArray(re.listen) ? [i] : [])]
        : ['elements', name];
      const badAddr = checkListenAddress(e.address);
      if (badAddr !== undefined) {
        issues.push({ path: [...at, 'address'], message: badAddr });
        return;
      }
      if ((e.proto === 'tls' || e.proto === 'wss') && tls === undefined) {
        issues.push({
          path: at,
          message: `a ${e.proto} listener needs a certificate: add tls: { cert: server.pem, key: server.key } to elements.${name}`,
        });
      }
      const adv = e.advertise ?? re.advertise;
      let advertise: ListenConfig['advertise'];
      if (adv !== undefined) {
        const port = adv.port ?? e.port;
        if (port === 0)
          issues.push({ path: at, message: 'advertise needs a port when the listener port is 0' });
        advertise = { host: adv.host, port };
      }
      out.push({ proto: e.proto, address: e.address, port: e.port, advertise });
    });
    listens.set(name, out);
  }

  const elements: Record<string, ElementConfig> = {};
  for (const name of names) {
    const re = rawElements[name] ?? {};
    const ref = scripts.get(name);
    if (ref === undefined) continue;
    const profileName = ref.kind === 'builtin' ? ref.name : 'custom';
    const profile = PROFILES[profileName];
    const at = (...p: (string | number)[]): (string | number)[] => ['elements', name, ...p];

    const tcpLifetime =
      re.tcp_connection_lifetime ??
      profile.element.tcp_connection_lifetime ??
      ELEMENT_DEFAULTS.tcp_connection_lifetime;

    // ---- edge script values
    let edge: EdgeConfig | undefined;
    if (re.edge !== undefined && profileName !== 'edge') {
      issues.push({
        path: at('edge'),
        atKey: true,
        message: `edge applies to script: edge only (this element runs ${ref.kind === 'builtin' ? ref.name : ref.source})`,
      });
    }
    if (profileName === 'edge') {
      const given = re.edge?.registrar;
      // one URI or a registrar set (a list, in priority order)
      let registrars: string[] =
        given === undefined ? [] : typeof given === 'string' ? [given] : [...given];
      let registrarElement: string | undefined;
      if (given !== undefined) {
        const seen = new Set<string>();
        registrars.forEach((r, i) => {
          const path =
            typeof given === 'string' ? at('edge', 'registrar') : at('edge', 'registrar', i);
          const u = parseSipUriStrict(r);
          if (!u.ok)
            issues.push({
              path,
              message: `expected a SIP URI like sip:127.0.0.1:5070 (${u.error.detail})`,
            });
          else if (seen.has(r.toLowerCase()))
            issues.push({ path, message: `${r} is in the list twice` });
          seen.add(r.toLowerCase());
        });
      } else {
        const regName = names.find(
          (n) =>
            n !== name &&
            scripts.get(n)?.kind === 'builtin' &&
            (scripts.get(n) as { name: string }).name === 'registrar',
        );
        const l =
          regName === undefined ? undefined : pickRegistrarListener(listens.get(regName) ?? []);
        if (regName === undefined || l === undefined) {
          issues.push({
            path: re.edge === undefined ? at() : at('edge'),
            message:
              'edge.registrar is required: no element in this file runs script: registrar (e.g. edge: { registrar: "sip:10.0.0.2:5060" })',
          });
        } else {
          registrarElement = regName;
          registrars = [
            `sip:${uriHost(l.address)}:${l.port}${l.proto === 'udp' ? '' : `;transport=${l.proto}`}`,
          ];
        }
      }
      const flowTimer = re.edge?.flow_timer ?? EDGE_DEFAULTS.flow_timer;
      if (tcpLifetime <= flowTimer && (listens.get(name) ?? []).some((l) => l.proto !== 'udp')) {
        issues.push({
          path:
            re.tcp_connection_lifetime === undefined
              ? at('edge', 'flow_timer')
              : at('tcp_connection_lifetime'),
          message: `tcp_connection_lifetime (${tcpLifetime} s) must be larger than edge.flow_timer (${flowTimer} s), or connections close before the UA's keep-alive (the outbound manual: FLOW_TIMER + 10)`,
        });
      }
      edge = {
        registrar: registrars[0] ?? '',
        registrars,
        registrar_element: registrarElement,
        registrar_select: re.edge?.registrar_select ?? EDGE_DEFAULTS.registrar_select,
        registrar_probe_interval:
          re.edge?.registrar_probe_interval ?? EDGE_DEFAULTS.registrar_probe_interval,
        registrar_probe_threshold:
          re.edge?.registrar_probe_threshold ?? EDGE_DEFAULTS.registrar_probe_threshold,
        registrar_timeout: re.edge?.registrar_timeout ?? EDGE_DEFAULTS.registrar_timeout,
        flow_timer: flowTimer,
        seed_strict: re.edge?.seed_strict ?? EDGE_DEFAULTS.seed_strict,
      };
    }

    const modules = buildModules(re, profileName, ref, at, dataDir, issues);
    const serverHeader =
      re.server_header === undefined
        ? ELEMENT_DEFAULTS.server_header
        : orUndefined(re.server_header)?.replace(/^Server:\s*/i, '');
    elements[name] = {
      name,
      script: ref,
      listen: listens.get(name) ?? [],
      tls: tlsOf.get(name),
      alias: re.alias === undefined ? [] : Array.isArray(re.alias) ? re.alias : [re.alias],
      force_rport: re.force_rport ?? profile.element.force_rport ?? ELEMENT_DEFAULTS.force_rport,
      tcp_connection_lifetime: tcpLifetime,
      tcp_connect_timeout: re.tcp_connect_timeout ?? ELEMENT_DEFAULTS.tcp_connect_timeout,
      children: re.children ?? ELEMENT_DEFAULTS.children,
      server_header: serverHeader,
      allow_unauthenticated: re.allow_unauthenticated ?? false,
      edge,
      modules,
    };
  }

  defaultEdges(elements);
  checkPublic(rawElements, elements, issues);
  checkPorts(rawElements, listens, mgmtListen, issues);

  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: {
      file: ctx.file,
      dir: ctx.dir,
      data_dir: dataDir,
      log,
      management: { listen: mgmtListen, token, hosts: raw.management?.hosts ?? [] },
      warmup: raw.warmup ?? ROOT_DEFAULTS.warmup,
      helper_threads_nice: raw.helper_threads_nice ?? ROOT_DEFAULTS.helper_threads_nice,
      elements,
    },
  };
}

function pickRegistrarListener(ls: readonly ListenConfig[]): ListenConfig | undefined {
  return (
    ls.find((l) => l.proto === 'udp') ??
    ls.find((l) => l.proto === 'tcp') ??
    ls.find((l) => l.proto === 'tls')
  );
}
