import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../errors/index.js';
import type { AuthParams, CredentialStore } from '../modules/auth/index.js';
import type { LocationStore } from '../modules/location/binding.js';
import type { LocationStoreConfig } from '../modules/location/index.js';
import type { NathelperParams } from '../modules/nathelper/index.js';
import type { OutboundParams } from '../modules/outbound/index.js';
import { registrarSources } from '../modules/permissions/index.js';
import type { PikeParams } from '../modules/pike/index.js';
import { type RegistrarParams, registrarModule } from '../modules/registrar/index.js';
import type { RrParams } from '../modules/rr/index.js';
import type { SiptraceParams } from '../modules/siptrace/index.js';
import type { DestinationSetOptions } from '../proxy/destination-set.js';
import type { ProxyLimits, TmParams } from '../proxy/types.js';
import type { Script } from '../script/api.js';
import { edgeProxyScript } from '../script/edge-proxy.js';
import { registrarScript } from '../script/registrar.js';
import { staticScript } from '../script/static.js';
import type { TxTimers } from '../transaction/types.js';
import type { ListenConfig, TlsConfig, TransportConfig } from '../transport/types.js';
import type { Logger } from '../util/logger.js';
import type { Config, ElementConfig, UsrlocConfig } from './types.js';

/** What an element needs besides its configuration: things that are loaded or opened at start. */
export interface ElementRuntime {
  /** The loaded script module (required when the element's script is a file). */
  readonly script?: Script | undefined;
  /** The element's location store (required when it loads the registrar module). */
  readonly location?: LocationStore | undefined;
  readonly logger?: Logger | undefined;
  /** TLS material (PEM); default: the element's `tls` files, read now. */
  readonly tls?: TlsConfig | undefined;
  /**
   * The edge's registrar URI when it is known only once the registrar element listens (its port
   * was 0). Used only when the file did not name the URI.
   */
  readonly registrarUri?: string | undefined;
  /** The element's credentials store (required when it loads the auth module). */
  readonly credentials?: CredentialStore | undefined;
}

/**
 * `createServer` options of one element (`ServerOptions` in `src/server.ts`, which the config
 * layer cannot import: the shapes match field by field).
 */
export interface ElementOptions {
  readonly name: string;
  readonly listen: readonly ListenConfig[];
  readonly tls: TlsConfig | undefined;
  readonly script: Script;
  readonly aliases: readonly string[];
  readonly forceRport: boolean;
  readonly transport: Omit<TransportConfig, 'listen' | 'tls'>;
  readonly timers: Partial<TxTimers>;
  readonly tm: TmParams;
  readonly rr: RrParams;
  readonly outbound: OutboundParams | undefined;
  readonly path: boolean;
  readonly registrar: ReturnType<typeof registrarModule> | undefined;
  readonly dataDir: string;
  readonly serverHeader: string | undefined;
  readonly sanityAutodrop: boolean;
  readonly logger: Logger | undefined;
  readonly location: LocationStore | undefined;
  readonly auth: { readonly params: AuthParams; readonly store: CredentialStore } | undefined;
  readonly pike: PikeParams | undefined;
  readonly nathelper: NathelperParams | undefined;
  readonly siptrace: SiptraceParams | undefined;
  readonly permissions: {
    readonly trusted: readonly string[];
    readonly edges: readonly string[];
    readonly registrars: readonly string[];
  };
  /** The edge's registrar set (`ServerOptions.registrarSet`); undefined for other scripts. */
  readonly registrarSet: RegistrarSetConfig | undefined;
  readonly limits: Partial<ProxyLimits>;
  readonly signDialogs: boolean;
  readonly forwardStrayResponses: boolean;
}

/** `ServerOptions.registrarSet` (the shapes match field by field). */
export type RegistrarSetConfig = Omit<DestinationSetOptions, 'name'> & { readonly du: string };

/**
 * The registrars of an edge: the file's list, or the URI of this file's registrar element with
 * its real port (`registrarUri`, known once it listens). Empty for other elements.
 */
export function edgeRegistrars(el: ElementConfig, registrarUri?: string): readonly string[] {
  const e = el.edge;
  if (e === undefined) return [];
  return e.registrar_element !== undefined && registrarUri !== undefined
    ? [registrarUri]
    : e.registrars;
}

/** The element of a config, or an error naming the ones there are. */
export function elementConfig(config: Config, name: string): ElementConfig {
  const el = config.elements[name];
  if (el === undefined) {
    throw new InvalidArgumentError(
      `no element '${name}' in the configuration (there are: ${Object.keys(config.elements).join(', ')})`,
    );
  }
  return el;
}

/** `createLocationStore` settings of an element's usrloc (undefined when it has no registrar). */
export function locationStoreConfig(el: ElementConfig): LocationStoreConfig | undefined {
  const u: UsrlocConfig | undefined = el.modules.usrloc;
  if (u === undefined) return undefined;
  switch (u.backend) {
    case 'memory':
      return { backend: 'memory' };
    case 'sqlite':
      return { backend: 'sqlite', path: u.path, synchronous: u.synchronous };
    case 'redis':
      return u.prefix === undefined
        ? { backend: 'redis', url: u.url }
        : { backend: 'redis', url: u.url, prefix: u.prefix };
  }
}

/** `registrarModule` parameters of an element (Kamailio registrar names, plus usrloc's use_domain / cseq_delay). */
export function registrarParams(el: ElementConfig): RegistrarParams | undefined {
  const r = el.modules.registrar;
  const u = el.modules.usrloc;
  if (r === undefined) return undefined;
  return {
    ...r,
    ...(u === undefined ? {} : { use_domain: u.use_domain, cseq_delay: u.cseq_delay }),
  };
}

/** The built-in script of an element (undefined for a script file: load it with `loadScriptFile`). */
export function builtinScript(el: ElementConfig, registrarUri?: string): Script | undefined {
  if (el.script.kind === 'file') return undefined;
  switch (el.script.name) {
    case 'edge': {
      const e = el.edge;
      if (e === undefined)
        throw new InvalidArgumentError(`element ${el.name}: script edge without edge settings`);
      const registrars = edgeRegistrars(el, registrarUri);
      return edgeProxyScript({
        registrar: registrars[0] ?? e.registrar,
        registrars,
        flowTimer: e.flow_timer,
        seedStrict: e.seed_strict,
        // a UA behind NAT without outbound gets a flow token too (decision Q-E1), when both the
        // outbound flag and nathelper are there
        natFlag:
          el.modules.nathelper !== undefined &&
          (el.modules.outbound?.force_outbound_flag ?? -1) >= 0
            ? el.modules.outbound?.force_outbound_flag
            : undefined,
      });
    }
    case 'registrar':
      return registrarScript({ auth: el.modules.auth !== undefined });
    case 'static':
      return staticScript();
  }
}

function readTls(el: ElementConfig): TlsConfig | undefined {
  const t = el.tls;
  if (t === undefined) return undefined;
  return {
    cert: readFileSync(t.cert),
    key: readFileSync(t.key),
    ...(t.ca === undefined ? {} : { ca: readFileSync(t.ca) }),
  };
}

/**
 * Maps one element of a configuration onto `createServer` options: listeners, globals (alias,
 * force_rport, tcp_connection_lifetime), module parameters (tm, rr, outbound, path, websocket,
 * sanity, limits, registrar) and the script.
 * @throws InvalidArgumentError for an unknown element, a script file without `runtime.script`, or
 *   a registrar without `runtime.location`.
 */
export function elementOptions(
  config: Config,
  name: string,
  runtime: ElementRuntime = {},
): ElementOptions {
  const el = elementConfig(config, name);
  const m = el.modules;
  const script = runtime.script ?? builtinScript(el, runtime.registrarUri);
  if (script === undefined) {
    throw new InvalidArgumentError(
      `element ${name}: the script ${el.script.kind === 'file' ? el.script.source : ''} must be loaded first (loadScriptFile)`,
    );
  }
  let auth: ElementOptions['auth'];
  if (m.auth !== undefined) {
    if (runtime.credentials === undefined)
      throw new InvalidArgumentError(
        `element ${name}: the auth module needs a credentials store (createCredentialStore(element.modules.auth_db))`,
      );
    auth = {
      params: {
        ...m.auth,
        algorithms: m.auth.algorithms,
        use_domain: m.auth_db?.use_domain ?? true,
      },
      store: runtime.credentials,
    };
  }
  const registrars = edgeRegistrars(el, runtime.registrarUri);
  const edge = el.edge;
  let registrar: ElementOptions['registrar'];
  const params = registrarParams(el);
  if (params !== undefined) {
    if (runtime.location === undefined)
      throw new InvalidArgumentError(
        `element ${name}: the registrar module needs a location store (createLocationStore(locationStoreConfig(element)))`,
      );
    registrar = registrarModule(params, runtime.location);
  }
  return {
    name,
    listen: el.listen,
    tls: runtime.tls ?? readTls(el),
    script,
    aliases: el.alias,
    forceRport: el.force_rport,
    transport: {
      tcpConnectionLifetime: el.tcp_connection_lifetime,
      connectTimeout: el.tcp_connect_timeout,
      wsKeepaliveTimeout: m.websocket.keepalive_timeout,
      wsKeepaliveInterval: m.websocket.keepalive_interval,
      limits: {
        maxMessageSize: m.limits.max_message_size,
        maxHeaders: m.limits.max_headers,
        maxLineLength: m.limits.max_line_length,
      },
      maxConnections: m.limits.max_connections,
      maxConnectionsPerIp: m.limits.max_connections_per_ip,
      maxOutgoingConnections: m.limits.max_outgoing_connections,
      maxBufferedBytes: m.limits.max_buffered_bytes,
      firstMessageTimeout: m.limits.first_message_timeout,
    },
    timers: { t1: m.tm.retr_timer1, t2: m.tm.retr_timer2, frTimer: m.tm.fr_timer },
    tm: {
      failureReplyMode: m.tm.failure_reply_mode,
      restartFrOnEachReply: m.tm.restart_fr_on_each_reply,
      frInvTimer: m.tm.fr_inv_timer,
      autoInv100: m.tm.auto_inv_100,
    },
    rr: { append_fromtag: m.rr.append_fromtag, enable_double_rr: m.rr.enable_double_rr },
    outbound:
      m.outbound === undefined
        ? undefined
        : {
            force_outbound_flag: m.outbound.force_outbound_flag,
            force_no_outbound_flag: m.outbound.force_no_outbound_flag,
            flow_token_secret: m.outbound.flow_token_secret,
            flow_token_secret_previous: m.outbound.flow_token_secret_previous,
            direction_match: m.outbound.direction_match,
          },
    path: m.path,
    registrar,
    dataDir: config.data_dir,
    serverHeader: el.server_header,
    sanityAutodrop: m.sanity.autodrop,
    logger: runtime.logger,
    location: runtime.location,
    auth,
    pike: m.pike,
    nathelper: m.nathelper,
    siptrace: m.siptrace,
    permissions: {
      trusted: m.permissions.trusted,
      edges: m.permissions.edges,
      registrars: registrars.flatMap(registrarSources),
    },
    registrarSet:
      edge === undefined || registrars[0] === undefined
        ? undefined
        : {
            du: registrars[0],
            uris: registrars,
            policy: edge.registrar_select,
            probeInterval: edge.registrar_probe_interval,
            probeThreshold: edge.registrar_probe_threshold,
            timeoutMs: edge.registrar_timeout,
          },
    limits: {
      maxServerTransactions: m.limits.max_server_transactions,
      maxClientTransactions: m.limits.max_client_transactions,
      maxBranches: m.limits.max_branches,
    },
    // a registrar that authenticates relays in-dialog requests only through its own signed Record-Route
    signDialogs: m.auth !== undefined,
    forwardStrayResponses: el.edge?.seed_strict === true,
  };
}
