import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { checkTlsFiles } from '../config/check-tls.js';
import {
  elementConfig,
  elementOptions,
  locationStoreConfig,
  registrarParams,
} from '../config/element.js';
import { ConfigError, formatPath } from '../config/errors.js';
import { formatListen } from '../config/listen.js';
import { bindProblem, listenFailureIssue } from '../config/probe.js';
import { loadScriptFile } from '../config/script-file.js';
import type { Config, ElementConfig } from '../config/types.js';
import {
  type LogLevelControl,
  type ManagedElement,
  type ManagementServer,
  StoreMetrics,
  startManagementServer,
  TimedLocationStore,
} from '../manage/index.js';
import type { CredentialStore } from '../modules/auth/index.js';
import { createCredentialStore } from '../modules/auth/store/index.js';
import type { LocationStore } from '../modules/location/binding.js';
import { createLocationStore } from '../modules/location/index.js';
import { extractAor, resolveRegistrarParams } from '../modules/registrar/index.js';
import { createServer, type FlowgateServer } from '../server.js';
import type { ListenerInfo } from '../transport/types.js';
import { growYoungGeneration, tuneHeap } from '../util/heap-tuning.js';
import type { Logger } from '../util/logger.js';
import { ensurePrivateDir, readOrCreateSecretFile } from '../util/secret-file.js';
import { reloadTlsLogged } from './tls-reload.js';

/** How long SIGTERM waits for transactions to finish before closing anyway (issue 6 §3). */
export const DRAIN_MS = 5000;

/** The file in the data directory that holds the generated management token. */
export const MANAGEMENT_TOKEN_FILE = 'management.token';

/**
 * The management token of a data directory (issue 10 §6: the API always requires one): read from
 * `data_dir/management.token`, or generated there at first start (32 random bytes, hex; mode 0600,
 * written complete). Later starts, and `flowgate ctl`, read the same file.
 * @throws when the file exists but holds no usable token (naming the file and the fix).
 */
export function loadOrCreateManagementToken(dataDir: string): { token: string; file: string } {
  const file = join(dataDir, MANAGEMENT_TOKEN_FILE);
  const token = readOrCreateSecretFile(file, () => `${randomBytes(32).toString('hex')}\n`).trim();
  if (token.length < 16 || /\s/.test(token))
    throw new Error(
      `${file}: not a management token (expected one line of at least 16 characters); delete it to generate a new one`,
    );
  return { token, file };
}

/** One running element. */
export interface RunningElement {
  readonly config: ElementConfig;
  readonly server: FlowgateServer;
  readonly listeners: readonly ListenerInfo[];
  readonly location: LocationStore | undefined;
}

/** The elements of this process and the management API. */
export interface Instance {
  readonly elements: readonly RunningElement[];
  readonly management: ManagementServer | undefined;
  /** Where the API's token is when it was generated (undefined: management.token of the file, or no API). */
  readonly managementTokenFile: string | undefined;
  /**
   * Graceful stop: `/health` says stopping, listeners stop accepting where the server supports it,
   * transactions get up to `drainMs` to finish, then servers and stores close (flushed).
   */
  stop(drainMs?: number): Promise<void>;
}

/** Optional server capabilities used for a graceful stop when the server offers them. */
interface Drainable {
  /** Stop accepting new connections and requests; keep what is in progress. */
  drain?(): Promise<void> | void;
}

interface PendingCounts {
  /** Transactions without a final response yet (preferred when the layer offers it). */
  readonly pendingCount?: number;
  readonly serverCount: number;
  readonly clientCount: number;
}

function pending(s: FlowgateServer): number {
  const l = s.layer as PendingCounts;
  return typeof l.pendingCount === 'number' ? l.pendingCount : l.serverCount + l.clientCount;
}

function scriptName(el: ElementConfig): string {
  return el.script.kind === 'builtin' ? el.script.name : el.script.source;
}

function modulesOf(el: ElementConfig): string[] {
  const m = el.modules;
  return [
    'tm',
    'sl',
    'rr',
    'maxfwd',
    'sanity',
    'textops',
    ...(m.outbound === undefined ? [] : ['outbound']),
    ...(m.path ? ['path'] : []),
    ...(m.registrar === undefined ? [] : ['registrar', 'usrloc']),
  ];
}

/** The URI of a registrar element from its real listeners (its port may have been 0). */
function registrarUriOf(listeners: readonly ListenerInfo[]): string | undefined {
  const l =
    listeners.find((x) => x.proto === 'udp') ??
    listeners.find((x) => x.proto === 'tcp') ??
    listeners.find((x) => x.proto === 'tls');
  if (l === undefined) return undefined;
  const a = l.address === '0.0.0.0' ? '127.0.0.1' : l.address === '::' ? '::1' : l.address;
  return `sip:${a.includes(':') ? `[${a}]` : a}:${l.port}${l.proto === 'udp' ? '' : `;transport=${l.proto}`}`;
}

/**
 * Starts the elements of a configuration (all, or only `role`) and the management API: creates the
 * data directory, loads scripts, opens location stores (shared when two elements name the same
 * one), listens. Registrars start before edges, so that an edge relaying to a registrar of this
 * process knows its real port. On failure, whatever started is closed again.
 */
export async function startInstance(
  config: Config,
  opts: {
    role?: string | undefined;
    logger: Logger;
    version: string;
    /** Run-time log level control for `PUT /v1/loglevel` (the CLI's pino logger). */
    logLevel?: LogLevelControl | undefined;
  },
): Promise<Instance> {
  const log = opts.logger;
  // a server process: keep the old generation close to the live heap (soak memory, issue 12 §1)
  tuneHeap();
  growYoungGeneration();
  const names =
    opts.role === undefined
      ? Object.keys(config.elements)
      : [elementConfig(config, opts.role).name];
  const isEdge = (n: string): number => Number(config.elements[n]?.edge !== undefined);
  // registrars first (an edge may need its registrar's real port); stable otherwise
  const order = [...names].sort((a, b) => isEdge(a) - isEdge(b));
  // keys, tokens and databases live here: only this user may read them (issue 10 §6)
  ensurePrivateDir(config.data_dir);

  const storeMetrics = new StoreMetrics();
  const stores = new Map<string, LocationStore>();
  const credentialStores = new Map<string, CredentialStore>();
  const running: RunningElement[] = [];
  let management: ManagementServer | undefined;
  let managementTokenFile: string | undefined;
  const startedAt = Date.now();

  const closeAll = async (): Promise<void> => {
    for (const r of [...running].reverse()) {
      try {
        await r.server.close();
      } catch (e) {
        log.error({ err: e, element: r.config.name }, 'closing the element failed');
      }
    }
    for (const s of stores.values()) {
      try {
        await s.close();
      } catch (e) {
        log.error({ err: e, store: s.name }, 'closing the location store failed');
      }
    }
    for (const s of credentialStores.values()) {
      try {
        await s.close();
      } catch (e) {
        log.error({ err: e, store: s.name }, 'closing the credentials store failed');
      }
    }
  };

  /** A failure while an element starts, as a problem at its place in the file (element and line). */
  const startProblem = (path: (string | number)[], what: string, e: unknown): ConfigError =>
    new ConfigError(
      [
        {
          ...config.where(path),
          path: formatPath(path),
          message: `${what}: ${e instanceof Error ? e.message : String(e)}`,
        },
      ],
      { cause: e },
    );

  try {
    for (const name of order) {
      const el = elementConfig(config, name);
      if (el.children > 1)
        log.info(
          { element: name, children: el.children },
          `children=${el.children} is accepted for compatibility: flowgate runs one process per element`,
        );
      let script: Awaited<ReturnType<typeof loadScriptFile>> | undefined;
      try {
        // a .cfg was compiled when the configuration was loaded (src/config/cfg.ts)
        script =
          el.script.kind === 'file'
            ? (el.script.compiled ?? (await loadScriptFile(el.script.path)))
            : undefined;
        if (el.script.kind === 'file')
          for (const n of el.script.notes ?? []) log.info({ element: name }, n);
      } catch (e) {
        throw startProblem(['elements', name, 'script'], 'cannot load the script', e);
      }
      let location: LocationStore | undefined;
      const lsc = locationStoreConfig(el);
      if (lsc !== undefined) {
        const key = JSON.stringify(lsc);
        location = stores.get(key);
        if (location === undefined) {
          const inner = createLocationStore(lsc, {
            sweepIntervalMs: (el.modules.usrloc?.timer_interval ?? 60) * 1000,
            logger: log.child({ component: 'location', element: name }),
          });
          location = new TimedLocationStore(inner, storeMetrics, `${name}:${lsc.backend}`);
          try {
            await location.open();
          } catch (e) {
            throw startProblem(
              ['elements', name, 'modules', 'usrloc'],
              `cannot open the location store (${lsc.backend}${'path' in lsc ? ` ${lsc.path}` : ''})`,
              e,
            );
          }
          stores.set(key, location);
          log.info(
            { element: name, backend: lsc.backend, ...('path' in lsc ? { path: lsc.path } : {}) },
            'location store open',
          );
        }
      }
      let credentials: CredentialStore | undefined;
      const adb = el.modules.auth_db;
      if (el.modules.auth !== undefined && adb !== undefined) {
        const key = JSON.stringify(adb);
        credentials = credentialStores.get(key);
        if (credentials === undefined) {
          credentials = createCredentialStore(adb, {
            logger: log.child({ component: 'credentials', element: name }),
          });
          try {
            await credentials.open();
          } catch (e) {
            throw startProblem(
              ['elements', name, 'modules', 'auth_db'],
              `cannot open the credentials store (${adb.backend}${'path' in adb ? ` ${adb.path}` : ''})`,
              e,
            );
          }
          credentialStores.set(key, credentials);
          log.info(
            { element: name, backend: adb.backend, ...('path' in adb ? { path: adb.path } : {}) },
            'credentials store open',
          );
        }
      }
      const regEl = el.edge?.registrar_element;
      const regRunning =
        regEl === undefined ? undefined : running.find((r) => r.config.name === regEl);
      const registrarUri =
        regRunning === undefined ? undefined : registrarUriOf(regRunning.listeners);
      const server = createServer(
        elementOptions(config, name, { script, location, logger: log, registrarUri, credentials }),
      );
      let listeners: readonly ListenerInfo[];
      try {
        listeners = await server.listen();
      } catch (e) {
        await server.close().catch(() => {});
        // a port taken between check and listen: name the element, the listener and its line
        const issue = listenFailureIssue(config, name, e);
        if (issue !== undefined) throw new ConfigError([issue], { cause: e });
        // TLS files changed since the check: say what is wrong with them, not OpenSSL's text
        const tls = el.tls === undefined ? [] : await checkTlsFiles(el.tls);
        if (tls.length > 0)
          throw new ConfigError(
            tls.map((p) => {
              const path = ['elements', name, 'tls', ...(p.file === undefined ? [] : [p.file])];
              return { ...config.where(path), path: formatPath(path), message: p.message };
            }),
            { cause: e },
          );
        throw startProblem(['elements', name, 'listen'], 'cannot listen', e);
      }
      running.push({ config: el, server, listeners, location });
      log.info(
        {
          element: name,
          script: scriptName(el),
          listen: listeners.map(formatListen),
          ...(registrarUri !== undefined || el.edge !== undefined
            ? {
                registrar:
                  registrarUri ??
                  ((el.edge?.registrars.length ?? 0) > 1
                    ? el.edge?.registrars
                    : el.edge?.registrar),
              }
            : {}),
        },
        `${name} listening`,
      );
    }

    const inConfigOrder = [...running].sort(
      (a, b) => names.indexOf(a.config.name) - names.indexOf(b.config.name),
    );
    const managed: ManagedElement[] = inConfigOrder.map((r) => {
      const rp = registrarParams(r.config);
      const resolved = rp === undefined ? undefined : resolveRegistrarParams(rp);
      return {
        server: r.server,
        script: scriptName(r.config),
        modules: modulesOf(r.config),
        location: r.location,
        aorKey:
          resolved === undefined
            ? undefined
            : (input: string): string | undefined => {
                // a bare key is used as typed (lower-cased when AoRs are case-insensitive)
                if (!/^(sips?|tel):/i.test(input))
                  return resolved.case_sensitive === 0 ? input.toLowerCase() : input;
                const a = extractAor(input, resolved);
                return a.ok ? a.aor.key : undefined;
              },
      };
    });
    // /v1/users manages the credentials store of the (first) element that authenticates
    const usersApi = (): { store: CredentialStore; realm: string | undefined } | undefined => {
      const r = running.find((x) => x.server.auth !== undefined);
      const store = r?.server.auth?.store;
      return store === undefined ? undefined : { store, realm: r?.config.modules.auth?.realm };
    };
    const ml = config.management.listen;
    if (ml !== undefined) {
      let token = config.management.token;
      if (token === undefined) {
        const t = loadOrCreateManagementToken(config.data_dir);
        token = t.token;
        managementTokenFile = t.file;
      }
      try {
        management = await startManagementServer({
          host: ml.host,
          port: ml.port,
          token,
          hosts: config.management.hosts,
          elements: () => managed,
          storeMetrics,
          info: { version: opts.version, startedAt },
          logger: log,
          credentials: usersApi(),
          logLevel: opts.logLevel,
          reloadTls: () => reloadTlsLogged(running, log, 'management API'),
        });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.syscall !== 'listen' || err.code === undefined) throw e;
        throw new ConfigError(
          [
            {
              ...config.where(['management', 'listen']),
              path: formatPath(['management', 'listen']),
              message: bindProblem(err, `the management API ${ml.host}:${ml.port}`, {
                space: 'tcp',
                address: ml.host,
                port: ml.port,
              }),
            },
          ],
          { cause: e },
        );
      }
      log.info(
        {
          url: management.url,
          // where the token is, never the token
          token_file: managementTokenFile ?? null,
        },
        'management API listening',
      );
    }
  } catch (e) {
    await closeAll();
    throw e;
  }

  let stopped: Promise<void> | undefined;
  return {
    elements: running,
    management,
    managementTokenFile,
    stop(drainMs = DRAIN_MS): Promise<void> {
      stopped ??= (async () => {
        management?.setStopping();
        for (const r of running) await (r.server as FlowgateServer & Drainable).drain?.();
        const t0 = Date.now();
        let left = running.reduce((n, r) => n + pending(r.server), 0);
        if (left > 0)
          log.info(
            { transactions: left, bound_ms: drainMs },
            'stopping: waiting for transactions to finish',
          );
        while (left > 0 && Date.now() - t0 < drainMs) {
          await new Promise((r) => setTimeout(r, 50));
          left = running.reduce((n, r) => n + pending(r.server), 0);
        }
        if (left > 0)
          log.warn(
            { transactions: left },
            'stopping: transactions still open after the drain bound; closing them',
          );
        // in reverse start order: edges first, so nothing is relayed to a registrar that has gone
        await closeAll();
        await management?.close();
      })();
      return stopped;
    },
  };
}
