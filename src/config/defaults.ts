import type {
  AuthConfig,
  BuiltinScript,
  LimitsConfig,
  NathelperConfig,
  OutboundConfig,
  PikeConfig,
  RegistrarConfig,
  RrConfig,
  SanityConfig,
  SiptraceConfig,
  TmConfig,
  WebsocketConfig,
} from './types.js';

/**
 * Kamailio's defaults for every module parameter flowgate accepts (what a `modparam` left out
 * means in Kamailio 5.6 / master). A built-in script's profile (below) then sets what its seed
 * configuration sets.
 */
/** Types of {@link MODULE_DEFAULTS}. */
export interface ModuleDefaults {
  readonly tm: TmConfig;
  readonly rr: RrConfig;
  readonly outbound: OutboundConfig;
  readonly websocket: WebsocketConfig;
  readonly sanity: SanityConfig;
  readonly limits: LimitsConfig;
  readonly auth: AuthConfig;
  readonly auth_db: {
    readonly backend: 'sqlite';
    readonly path: string;
    readonly use_domain: boolean;
  };
  readonly pike: PikeConfig;
  readonly nathelper: NathelperConfig;
  readonly siptrace: Omit<SiptraceConfig, 'duplicate_uri'>;
  readonly registrar: RegistrarConfig;
  readonly usrloc: {
    readonly backend: 'memory' | 'sqlite' | 'redis';
    readonly path: string;
    readonly synchronous: 'NORMAL' | 'FULL';
    readonly prefix: string | undefined;
    readonly timer_interval: number;
    readonly use_domain: boolean;
    readonly cseq_delay: number;
  };
}

export const MODULE_DEFAULTS: ModuleDefaults = {
  tm: {
    failure_reply_mode: 3,
    restart_fr_on_each_reply: true,
    fr_timer: 30_000,
    fr_inv_timer: 120_000,
    retr_timer1: 500,
    retr_timer2: 4000,
    auto_inv_100: true,
    contacts_avp: 'tm_contacts',
    contact_flows_avp: 'tm_contact_flows',
  } satisfies TmConfig,
  rr: { append_fromtag: true, enable_double_rr: 1 } satisfies RrConfig,
  outbound: {
    force_outbound_flag: -1,
    force_no_outbound_flag: -1,
    flow_token_secret: undefined,
    direction_match: 'ip-port',
  } satisfies OutboundConfig,
  websocket: { keepalive_timeout: 180, keepalive_interval: 1 } satisfies WebsocketConfig,
  sanity: { autodrop: true } satisfies SanityConfig,
  limits: {
    max_message_size: 65_535,
    max_headers: 256,
    max_line_length: 16_384,
    max_connections: 2048,
    // one source may hold at most 64 of the 2048 slots (issue 10: was 1024, half of all)
    max_connections_per_ip: 64,
    max_buffered_bytes: 262_144,
    first_message_timeout: 20_000,
    max_outgoing_connections: 1024,
    max_server_transactions: 200_000,
    max_client_transactions: 200_000,
    // Kamailio MAX_BRANCHES
    max_branches: 12,
  } satisfies LimitsConfig,
  auth: {
    realm: undefined,
    // Kamailio's default; SHA-256 is opt-in: sipp 3.6, baresip 1.0 and JsSIP 3.13 answer only MD5,
    // and sipp and baresip give up on a 401 whose first (or any) challenge is SHA-256
    algorithms: ['MD5'],
    qop: 'auth',
    nonce_expire: 300,
    nonce_count: true,
    nc_array_size: 1_048_576,
    secret: undefined,
    user_failures: 30,
    user_failure_window: 60,
    user_lockout: 300,
  } satisfies AuthConfig,
  auth_db: { backend: 'sqlite', path: 'subscriber.db', use_domain: true },
  pike: {
    // Kamailio pike's defaults: 30 requests per 2 s
    sampling_time_unit: 2,
    reqs_density_per_unit: 30,
    ban_time: 300,
    auth_failures: 10,
    auth_failure_window: 60,
  } satisfies PikeConfig,
  // Kamailio's natping_interval is 0 (off); a NAT forgets a UDP binding after 30-120 s
  nathelper: {
    natping_interval: 0,
    keepalive_timeout: 0,
    sipping_from: 'sip:pinger@flowgate.invalid',
  } satisfies NathelperConfig,
  // Kamailio: hep_capture_id 1; trace_on 0 there, but a collector written here means capture
  siptrace: { hep_capture_id: 1, auth_key: undefined, trace_on: true },
  registrar: {
    default_expires: 3600,
    min_expires: 60,
    min_expires_mode: false,
    max_expires: 0,
    max_contacts: 0,
    default_q: -1,
    append_branches: true,
    case_sensitive: true,
    method_filtering: false,
    contact_max_size: 512,
    retry_after: 0,
    use_path: false,
    path_mode: 2,
    gruu_enabled: true,
    outbound_mode: 0,
    regid_mode: false,
    flow_timer: 0,
    temp_gruu_max: 32,
  } satisfies RegistrarConfig,
  usrloc: {
    backend: 'sqlite',
    path: 'location.db',
    synchronous: 'NORMAL',
    prefix: undefined,
    timer_interval: 60,
    use_domain: false,
    cseq_delay: 20,
  },
};

/** Element-level (Kamailio global) defaults. */
export const ELEMENT_DEFAULTS: {
  readonly force_rport: boolean;
  readonly tcp_connection_lifetime: number;
  readonly tcp_connect_timeout: number;
  readonly children: number;
  readonly server_header: string;
} = {
  force_rport: false,
  tcp_connection_lifetime: 120,
  tcp_connect_timeout: 10,
  children: 1,
  server_header: 'flowgate',
};

/** The top-level defaults. */
export const ROOT_DEFAULTS = {
  data_dir: '.data',
  log: { level: 'info', pretty: false, file: undefined },
  management: { listen: '127.0.0.1:8081', token: undefined },
  /** REGISTERs of `flowgate start`'s warm-up (src/cli/warmup.ts): ~0.5 s of a 2-core machine. */
  warmup: 3000,
  /** Nice added to V8's and libuv's helper threads (src/util/thread-priority.ts). */
  helper_threads_nice: 10,
} as const;

/** Values of the built-in edge script (the seed's `#!substdef "/FLOW_TIMER/20/"`). */
export const EDGE_DEFAULTS = {
  flow_timer: 20,
  seed_strict: false,
  /** A registrar set: the first registrar that is up takes everything (Kamailio dispatcher algorithm 8). */
  registrar_select: 'priority',
  /** Seconds between OPTIONS probes of each registrar (Kamailio `ds_ping_interval`). */
  registrar_probe_interval: 10,
  /** Failures in a row that take a registrar down (Kamailio `ds_probing_threshold`). */
  registrar_probe_threshold: 2,
  /** ms without any answer before a request moves on to the next registrar. */
  registrar_timeout: 2000,
} as const;

type DeepPartial<T> = { readonly [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** What a built-in script changes against Kamailio's defaults: its seed configuration's values. */
export interface ScriptProfile {
  /** Listeners when the element names none; `tls` ones are added only when a certificate is configured. */
  readonly listen: readonly string[];
  readonly listenTls: readonly string[];
  readonly element: DeepPartial<typeof ELEMENT_DEFAULTS>;
  readonly modules: DeepPartial<typeof MODULE_DEFAULTS>;
  /** Modules loaded unless the file says `false`. */
  readonly load: {
    readonly outbound: boolean;
    readonly registrar: boolean;
    readonly nathelper?: boolean;
  };
}

/**
 * Per-script defaults. `edge` is Example 1.1 of the seed (the Kamailio outbound module manual),
 * `registrar` Example 1.2; `custom` applies to a user's script file.
 */
export const PROFILES: Readonly<Record<BuiltinScript | 'custom', ScriptProfile>> = {
  edge: {
    listen: ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060', 'ws:127.0.0.1:8080'],
    listenTls: ['tls:127.0.0.1:5061', 'wss:127.0.0.1:8443'],
    // seed: tcp_connection_lifetime=30 (FLOW_TIMER + 10), force_rport=yes
    element: { force_rport: true, tcp_connection_lifetime: 30 },
    // seed: modparam("rr", "append_fromtag", 0); the outbound manual: keepalive_timeout a little
    // above the flow timer (20) and below tcp_connection_lifetime (30). flowgate (decision Q-E1):
    // flag 5 forces a flow token for UAs behind NAT without outbound, and their UDP NAT bindings
    // are pinged every 25 s (a UA silent for 90 s is gone: 430 at once)
    modules: {
      rr: { append_fromtag: false },
      websocket: { keepalive_timeout: 25 },
      outbound: { force_outbound_flag: 5 },
      nathelper: { natping_interval: 25, keepalive_timeout: 90 },
    },
    load: { outbound: true, registrar: false, nathelper: true },
  },
  registrar: {
    listen: ['udp:127.0.0.1:5070', 'tcp:127.0.0.1:5070'],
    listenTls: ['tls:127.0.0.1:5071'],
    element: {},
    // seed: restart_fr_on_each_reply=0, append_fromtag=0, use_path=1, gruu_enabled=1, outbound_mode=1
    modules: {
      tm: { restart_fr_on_each_reply: false },
      rr: { append_fromtag: false },
      // flowgate (issue 10): at most 10 bindings per AoR and 3600 s, so one REGISTER cannot fan calls out without bound
      registrar: {
        use_path: true,
        gruu_enabled: true,
        outbound_mode: 1,
        max_contacts: 10,
        max_expires: 3600,
      },
    },
    load: { outbound: false, registrar: true },
  },
  static: {
    listen: ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060'],
    listenTls: ['tls:127.0.0.1:5061'],
    element: {},
    modules: {},
    load: { outbound: false, registrar: false },
  },
  custom: {
    listen: ['udp:127.0.0.1:5060', 'tcp:127.0.0.1:5060'],
    listenTls: ['tls:127.0.0.1:5061'],
    element: {},
    modules: {},
    load: { outbound: false, registrar: false },
  },
};

/** The built-in script names. */
export const BUILTIN_SCRIPTS: readonly BuiltinScript[] = ['edge', 'registrar', 'static'];
