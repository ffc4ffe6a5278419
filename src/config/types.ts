import type { Script } from '../script/api.js';
import type { ListenConfig } from '../transport/types.js';

/** pino levels, plus `silent`. */
export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

/** `modparam("tm", …)`; timers in milliseconds as in Kamailio. */
export interface TmConfig {
  readonly failure_reply_mode: 0 | 1 | 2 | 3;
  readonly restart_fr_on_each_reply: boolean;
  readonly fr_timer: number;
  readonly fr_inv_timer: number;
  readonly retr_timer1: number;
  readonly retr_timer2: number;
  readonly auto_inv_100: boolean;
  readonly contacts_avp: string | undefined;
  readonly contact_flows_avp: string | undefined;
}

/** `modparam("rr", …)` */
export interface RrConfig {
  readonly append_fromtag: boolean;
  readonly enable_double_rr: 0 | 1 | 2;
}

/** `modparam("outbound", …)` */
export interface OutboundConfig {
  readonly force_outbound_flag: number;
  readonly force_no_outbound_flag: number;
  readonly flow_token_secret: string | undefined;
  /** The secret before a key rotation: its tokens are still accepted (undefined: none). */
  readonly flow_token_secret_previous?: string | undefined;
  readonly direction_match: 'ip-port' | 'ip';
}

/** `modparam("websocket", …)` (seconds). */
export interface WebsocketConfig {
  readonly keepalive_timeout: number;
  readonly keepalive_interval: number;
}

/** `modparam("sanity", …)` */
export interface SanityConfig {
  readonly autodrop: boolean;
}

/** Message and connection caps. */
export interface LimitsConfig {
  readonly max_message_size: number;
  readonly max_headers: number;
  readonly max_line_length: number;
  readonly max_connections: number;
  readonly max_connections_per_ip: number;
  readonly max_buffered_bytes: number;
  /** ms */
  readonly first_message_timeout: number;
  readonly max_outgoing_connections: number;
  readonly max_server_transactions: number;
  readonly max_client_transactions: number;
  readonly max_branches: number;
}

/** `modparam("auth", …)` (seconds). */
export interface AuthConfig {
  /** undefined: the request's domain. */
  readonly realm: string | undefined;
  readonly algorithms: readonly ('SHA-256' | 'MD5')[];
  readonly qop: 'auth' | '';
  readonly nonce_expire: number;
  readonly nonce_count: boolean;
  readonly nc_array_size: number;
  /** undefined: random per start. */
  readonly secret: string | undefined;
  readonly user_failures: number;
  readonly user_failure_window: number;
  readonly user_lockout: number;
}

/** `modparam("auth_db", …)`; paths absolute. */
export type AuthDbConfig = { readonly use_domain: boolean } & (
  | { readonly backend: 'memory' }
  | { readonly backend: 'sqlite'; readonly path: string }
  | { readonly backend: 'redis'; readonly url: string; readonly prefix: string | undefined }
);

/** `modparam("permissions", …)`: address specs as written. */
export interface PermissionsConfig {
  readonly trusted: readonly string[];
  /** Edge proxies in front of this element (default: this file's edge elements' addresses). */
  readonly edges: readonly string[];
}

/** `modparam("nathelper", …)` (seconds). */
export interface NathelperConfig {
  readonly natping_interval: number;
  readonly keepalive_timeout: number;
  readonly sipping_from: string;
}

/** `modparam("pike", …)` and failed-authentication bans (seconds). */
export interface PikeConfig {
  readonly sampling_time_unit: number;
  readonly reqs_density_per_unit: number;
  readonly ban_time: number;
  readonly auth_failures: number;
  readonly auth_failure_window: number;
}

/** `modparam("siptrace", …)`: HEPv3 capture (src/modules/siptrace). */
export interface SiptraceConfig {
  /** The collector as written (checked: udp:/tcp:/sip: host:port). */
  readonly duplicate_uri: string;
  readonly hep_capture_id: number;
  readonly auth_key: string | undefined;
  readonly trace_on: boolean;
}

/** `modparam("registrar", …)`, Kamailio names (seconds); passed to `registrarModule`. */
export interface RegistrarConfig {
  readonly default_expires: number;
  readonly min_expires: number;
  readonly min_expires_mode: boolean;
  readonly max_expires: number;
  readonly max_contacts: number;
  /** -1: none */
  readonly default_q: number;
  readonly append_branches: boolean;
  readonly case_sensitive: boolean;
  readonly method_filtering: boolean;
  readonly contact_max_size: number;
  readonly retry_after: number;
  readonly use_path: boolean;
  readonly path_mode: 0 | 1 | 2;
  readonly gruu_enabled: boolean;
  readonly outbound_mode: 0 | 1 | 2;
  readonly regid_mode: boolean;
  readonly flow_timer: number;
  readonly temp_gruu_max: number;
}

/** The location store of a registrar (Kamailio usrloc). Paths are absolute. */
export type UsrlocConfig = {
  /** seconds */
  readonly timer_interval: number;
  readonly use_domain: boolean;
  /** seconds */
  readonly cseq_delay: number;
} & (
  | { readonly backend: 'memory' }
  | { readonly backend: 'sqlite'; readonly path: string; readonly synchronous: 'NORMAL' | 'FULL' }
  | { readonly backend: 'redis'; readonly url: string; readonly prefix: string | undefined }
);

/** Modules of one element, every value resolved. `undefined` = module not loaded. */
export interface ModulesConfig {
  readonly tm: TmConfig;
  readonly rr: RrConfig;
  readonly outbound: OutboundConfig | undefined;
  readonly path: boolean;
  readonly websocket: WebsocketConfig;
  readonly sanity: SanityConfig;
  readonly limits: LimitsConfig;
  readonly registrar: RegistrarConfig | undefined;
  readonly usrloc: UsrlocConfig | undefined;
  /** Digest authentication; undefined: not loaded. */
  readonly auth: AuthConfig | undefined;
  /** Credentials store (set whenever auth is loaded). */
  readonly auth_db: AuthDbConfig | undefined;
  readonly permissions: PermissionsConfig;
  /** undefined: not loaded. */
  readonly pike: PikeConfig | undefined;
  /** undefined: not loaded. */
  readonly nathelper: NathelperConfig | undefined;
  /** HEP capture; undefined: not loaded. */
  readonly siptrace: SiptraceConfig | undefined;
}

/** The routing script of an element. */
export type ScriptRef =
  | { readonly kind: 'builtin'; readonly name: BuiltinScript }
  /** `path` is absolute; `source` is what the file says. */
  | {
      readonly kind: 'file';
      readonly path: string;
      readonly source: string;
      /** A Kamailio `.cfg` script, compiled when the configuration was loaded (src/config/cfg.ts). */
      readonly compiled?: Script | undefined;
      /** Remarks about the `.cfg` (no effect, not run, read differently), `file:line:col: text`. */
      readonly notes?: readonly string[] | undefined;
    };

/** Names of the scripts shipped with flowgate. */
export type BuiltinScript = 'edge' | 'registrar' | 'static';

/** How the edge picks a registrar of its set (see `DestinationSet`). */
export type RegistrarSelect = 'priority' | 'round_robin' | 'hash';

/** Values of the built-in edge script. */
export interface EdgeConfig {
  /**
   * SIP URI of the registrar (the seed's `sip:REGISTRAR_IP:REGISTRAR_PORT`): the `$du` the script
   * writes; the first of {@link registrars}.
   */
  readonly registrar: string;
  /** The registrar set, in priority order (one URI unless `edge.registrar` is a list). */
  readonly registrars: readonly string[];
  readonly registrar_select: RegistrarSelect;
  /** seconds; 0: no probing */
  readonly registrar_probe_interval: number;
  readonly registrar_probe_threshold: number;
  /** ms */
  readonly registrar_timeout: number;
  /** Set when `registrar` was derived from this file's registrar element (its real port is used when it is 0). */
  readonly registrar_element: string | undefined;
  readonly flow_timer: number;
  readonly seed_strict: boolean;
}

/** TLS files (absolute paths). */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string | undefined;
}

/** One SIP element, every value resolved. */
export interface ElementConfig {
  readonly name: string;
  readonly script: ScriptRef;
  readonly listen: readonly ListenConfig[];
  readonly tls: TlsFiles | undefined;
  readonly alias: readonly string[];
  readonly force_rport: boolean;
  /** seconds */
  readonly tcp_connection_lifetime: number;
  /** seconds */
  readonly tcp_connect_timeout: number;
  readonly children: number;
  readonly server_header: string | undefined;
  readonly allow_unauthenticated: boolean;
  readonly edge: EdgeConfig | undefined;
  readonly modules: ModulesConfig;
}

/** Management API settings. */
export interface ManagementConfig {
  /** undefined: disabled. */
  readonly listen: { readonly host: string; readonly port: number } | undefined;
  /** undefined: generated into `data_dir/management.token` at start. */
  readonly token: string | undefined;
  /** Extra Host header names the API accepts (lower case). */
  readonly hosts: readonly string[];
}

/** A place in the configuration file (line and column 1-based; undefined for the embedded default). */
export interface ConfigLocation {
  readonly file: string;
  readonly line: number | undefined;
  readonly col: number | undefined;
}

/** A loaded configuration: every default applied, paths absolute, deep-frozen. */
export interface Config {
  /** Absolute path of the file, undefined for the embedded default. */
  readonly file: string | undefined;
  /** Directory relative paths were resolved against. */
  readonly dir: string;
  /** Absolute. */
  readonly data_dir: string;
  readonly log: {
    readonly level: LogLevel;
    readonly pretty: boolean;
    readonly file: string | undefined;
  };
  readonly management: ManagementConfig;
  /** REGISTERs `flowgate start` drives through a private pair before listening (0: none). */
  readonly warmup: number;
  /** Nice `flowgate start` adds to the helper threads (0: none; src/util/thread-priority.ts). */
  readonly helper_threads_nice: number;
  readonly elements: Readonly<Record<string, ElementConfig>>;
  /** Where a config path is written (for problems found later, e.g. by `checkConfig`). */
  where(path: readonly (string | number)[]): ConfigLocation;
}
