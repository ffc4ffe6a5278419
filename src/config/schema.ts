import { z } from 'zod';
import { type ListenEntry, parseAdvertise, parseListen } from './listen.js';

/**
 * The schema of `flowgate.yaml` as written: every key optional, unknown keys rejected. Defaults
 * are not applied here: `build.ts` applies Kamailio's defaults and the built-in script's profile
 * (`defaults.ts`), so that the seed's own values stay visible in one table.
 *
 * Every field carries a description (`.meta({ description })`): `scripts/gen-config-docs.ts`
 * turns the schema into `docs/configuration.md`.
 */

const FLAG_MSG = 'expected true or false (also accepted: 1/0, yes/no, on/off)';

/** Kamailio-style boolean: true/false, 1/0, yes/no, on/off. */
export const flag = z
  .union([z.boolean(), z.literal(0), z.literal(1), z.enum(['yes', 'no', 'on', 'off'])], {
    error: FLAG_MSG,
  })
  .transform((v) => v === true || v === 1 || v === 'yes' || v === 'on');

function int(what: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  const msg = `expected ${what}`;
  return z
    .int({ error: msg })
    .min(min, { error: msg })
    .max(max, { error: msg })
    .meta({ format: what });
}

/** A positive integer with its unit in the message ("expected a positive integer (seconds)"). */
function positive(unit: string, max?: number) {
  return int(`a positive integer (${unit})`, 1, max);
}

function oneOf<const T extends readonly [number, ...number[]]>(values: T, what: string) {
  const msg = `expected ${values.join(', ')} (${what})`;
  return z.union(
    values.map((v) => z.literal(v)) as unknown as [
      z.ZodLiteral<T[number]>,
      ...z.ZodLiteral<T[number]>[],
    ],
    { error: msg },
  );
}

function str(what: string) {
  return z
    .string({ error: `expected ${what}` })
    .min(1, { error: `expected ${what}, got an empty string` });
}

/** A key-derivation secret: long enough that it cannot be guessed (issue 10 §6). */
function secret() {
  const msg = 'expected a secret of at least 32 characters (e.g. openssl rand -hex 32)';
  return z.string({ error: msg }).min(32, { error: msg });
}

function d<T extends z.ZodType>(schema: T, description: string) {
  return schema.optional().meta({ description });
}

function dn<T extends z.ZodType>(schema: T, description: string) {
  return schema.nullable().optional().meta({ description });
}

const advertiseValue = z.union(
  [
    z.string().transform((s, ctx) => {
      const r = parseAdvertise(s);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message });
        return z.NEVER;
      }
      return r.value;
    }),
    z.strictObject({
      host: str('a host name or IP address').meta({
        description: 'Host written in Via, Record-Route and Path.',
      }),
      port: d(
        int('a port 1..65535', 1, 65_535),
        "Port written with it (default: the listener's port).",
      ),
    }),
  ],
  { error: 'expected host:port (a string) or { host, port }' },
);

const listenString = z.string().transform((s, ctx): ListenEntry => {
  const r = parseListen(s);
  if (!r.ok) {
    ctx.addIssue({ code: 'custom', message: r.message });
    return z.NEVER;
  }
  return r.value;
});

const listenObject = z.strictObject({
  proto: z
    .enum(['udp', 'tcp', 'tls', 'ws', 'wss'], { error: 'expected one of udp, tcp, tls, ws, wss' })
    .meta({
      description: 'Transport.',
    }),
  address: str('an IP address').meta({
    description: 'IP address to bind (IPv6 without brackets).',
  }),
  port: int('a port 0..65535 (0 = any free port)', 0, 65_535).meta({
    description: 'Port (0 = any free port).',
  }),
  advertise: d(advertiseValue, 'Host and port to write instead of the bound address.'),
});

const listenEntry = z.union([listenString, listenObject], {
  error: 'expected a listen string like udp:127.0.0.1:5060 or an object { proto, address, port }',
});

/** `modparam("tm", …)` */
export const tmSchema = z.strictObject({
  failure_reply_mode: d(
    oneOf([0, 1, 2, 3], 'Kamailio tm failure_reply_mode'),
    'Which earlier replies count after a failure route adds branches.',
  ),
  restart_fr_on_each_reply: d(
    flag,
    'Every provisional reply restarts fr_inv_timer (0: only the first and increasing codes >= 180).',
  ),
  fr_timer: d(
    positive('milliseconds'),
    'Timer B/F: how long a branch waits for any reply, in ms (Kamailio unit).',
  ),
  fr_inv_timer: d(
    positive('milliseconds'),
    'Timer C: how long an INVITE branch waits for a final reply after a provisional, in ms.',
  ),
  retr_timer1: d(positive('milliseconds'), 'T1: first UDP retransmission interval, in ms.'),
  retr_timer2: d(positive('milliseconds'), 'T2: longest retransmission interval, in ms.'),
  auto_inv_100: d(flag, 'Send 100 Trying when an INVITE transaction is created.'),
  contacts_avp: dn(
    str('an AVP name'),
    'Accepted for compatibility (t_load_contacts needs no AVP in flowgate).',
  ),
  contact_flows_avp: dn(
    str('an AVP name'),
    'Accepted for compatibility (t_next_contact_flow needs no AVP in flowgate).',
  ),
});

/** `modparam("rr", …)` */
export const rrSchema = z.strictObject({
  append_fromtag: d(flag, 'Add ;ftag=<From tag> to Record-Route.'),
  enable_double_rr: d(
    oneOf([0, 1, 2], '0 never, 1 when sockets differ, 2 always'),
    'Two Record-Route headers when the request changes socket (RFC 5658).',
  ),
});

/** `modparam("outbound", …)` */
export const outboundSchema = z.strictObject({
  force_outbound_flag: d(
    int('-1 (off) or a message flag 0..63', -1, 63),
    'Message flag that forces flow tokens into Path/Record-Route (-1 = off).',
  ),
  force_no_outbound_flag: d(
    int('-1 (off) or a message flag 0..63', -1, 63),
    'Message flag that prevents flow tokens (-1 = off).',
  ),
  flow_token_secret: dn(
    secret(),
    'Secret the flow-token key is derived from (SHA-1), at least 32 characters (e.g. openssl rand -hex 32). Unset: a random key kept in data_dir/flow-token.key (mode 0600), so tokens survive restarts.',
  ),
  flow_token_secret_previous: dn(
    secret(),
    'The secret before a key rotation: tokens signed with it stay valid (bindings and dialogs made before the rotation), new tokens use flow_token_secret. Remove it once every binding has been refreshed (max_expires).',
  ),
  direction_match: d(
    z.enum(['ip-port', 'ip'], { error: "expected 'ip-port' (Kamailio) or 'ip'" }),
    'How a request from the token owner is recognised: source IP and port (Kamailio), or IP only.',
  ),
});

/** The path module has no parameters flowgate uses; the key loads it. */
export const pathSchema = z.strictObject({});

/** `modparam("websocket", …)` */
export const websocketSchema = z.strictObject({
  keepalive_timeout: d(
    positive('seconds'),
    'Seconds of WebSocket idleness before a keep-alive Ping; an unanswered Ping closes the flow.',
  ),
  keepalive_interval: d(positive('seconds'), 'Seconds between keep-alive checks.'),
});

/** `modparam("sanity", …)` */
export const sanitySchema = z.strictObject({
  autodrop: d(flag, 'A failed sanity_check() ends the script (1) or returns -1 to it (0).'),
});

/** Message and connection limits (flowgate names; Kamailio has them as core globals). */
export const limitsSchema = z.strictObject({
  max_message_size: d(
    positive('bytes'),
    'Largest SIP message accepted (larger: 513 / connection closed).',
  ),
  max_headers: d(positive('header fields'), 'Most header fields in one message.'),
  max_line_length: d(positive('bytes'), 'Longest start line or header field.'),
  max_connections: d(
    positive('connections'),
    'Open TCP/TLS/WS connections in total (Kamailio tcp_max_connections).',
  ),
  max_connections_per_ip: d(
    positive('connections'),
    'Open connections from one remote IP (one source may not take the slots of everyone else).',
  ),
  max_outgoing_connections: d(
    positive('connections'),
    'Connections this element opens itself (to registrars, to UAs without a flow): a budget of their own, so incoming connections cannot starve them.',
  ),
  max_buffered_bytes: d(positive('bytes'), 'Bytes buffered per connection before it is closed.'),
  first_message_timeout: d(
    positive('milliseconds'),
    'Time a new connection has to send a complete first message, in ms.',
  ),
  max_server_transactions: d(
    positive('transactions'),
    'Server transactions in the table (including finished ones absorbing retransmissions); a new request beyond it gets 503 + Retry-After.',
  ),
  max_client_transactions: d(
    positive('transactions'),
    'Client transactions in the table; a branch beyond it fails with 503.',
  ),
  max_branches: d(
    int('an integer 1..64 (branches)', 1, 64),
    'Most branches one request may fork into (Kamailio MAX_BRANCHES: 12); lookup() and append_branch() stop there.',
  ),
});

/** `modparam("auth", …)`: digest authentication (RFC 3261 §22, RFC 7616, RFC 8760). Present: loaded. */
export const authSchema = z.strictObject({
  realm: dn(
    str('a realm, e.g. example.com'),
    "Realm of challenges and credentials; null: the request's domain (To for REGISTER, From otherwise).",
  ),
  algorithms: d(
    z
      .array(z.enum(['SHA-256', 'MD5'], { error: 'expected SHA-256 or MD5' }), {
        error: 'expected a list like [SHA-256, MD5]',
      })
      .min(1, { error: 'expected at least one algorithm, e.g. [SHA-256, MD5]' }),
    'Algorithms offered in a 401/407, one WWW-Authenticate header each, in this order (RFC 8760). Default [MD5] as Kamailio; [SHA-256, MD5] only when every client handles several challenges (docs/security.md).',
  ),
  qop: d(
    z.enum(['auth', ''], { error: "expected 'auth' or '' (no qop, RFC 2069 clients)" }),
    'qop offered: auth (with nonce-count replay protection) or empty.',
  ),
  nonce_expire: d(positive('seconds'), 'Lifetime of a nonce; an older one gets stale=true.'),
  nonce_count: d(flag, 'Remember nc per nonce and refuse a repeated or lower one (replay).'),
  nc_array_size: d(
    int('a power of two 1024..67108864 (nonces)', 1024, 67_108_864),
    'Nonces whose nc is tracked at once (1 byte each); an older nonce is re-challenged as stale.',
  ),
  secret: dn(
    z.string({ error: 'expected a secret of at least 32 characters' }).min(32, {
      error: 'expected a secret of at least 32 characters (e.g. openssl rand -hex 32)',
    }),
    'Secret nonces are signed with; null: random per start (set it when several registrars share clients).',
  ),
  user_failures: d(
    positive('failed authentications'),
    'Failed authentications of one user within user_failure_window before the user is locked out.',
  ),
  user_failure_window: d(positive('seconds'), 'Window of user_failures.'),
  user_lockout: d(
    positive('seconds'),
    'How long a locked-out user gets 403 without a password check.',
  ),
});

/** `modparam("auth_db", …)`: where the subscriber credentials are (Kamailio's subscriber table). */
export const authDbSchema = z.strictObject({
  backend: d(
    z.enum(['sqlite', 'redis', 'memory'], { error: 'expected sqlite, redis or memory' }),
    'Where credentials live.',
  ),
  path: d(str('a file path'), 'SQLite file, relative to data_dir.'),
  url: d(
    str('a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL'),
    'Redis URL (backend redis): redis://[[user]:password@]host[:port][/db] (rediss:// for TLS); redis+sentinel://[[user]:password@]host:26379[,host:port…]/<master-name>[/<db>] for the master Redis Sentinel names; redis+cluster://[[user]:password@]host:port[,host:port…] for Redis Cluster. Query ?wait=<replicas>&wait_timeout=<ms> (default 100): a write succeeds only once that many replicas have it (WAIT), else the request fails (500). Sentinels with a password: &sentinel_password=…. See docs/redis.md.',
  ),
  prefix: d(
    str('a key prefix'),
    'Redis key prefix. In a Redis Cluster it is also the hash tag ({prefix}) that keeps the store in one slot.',
  ),
  use_domain: d(
    flag,
    'Look users up by user and domain (alice@a.example and alice@b.example differ); 0: by user only (Kamailio default).',
  ),
});

/** An address or network of a peer: `192.0.2.1`, `10.0.0.0/8`, `192.0.2.1:5060`, `[2001:db8::1]:5060`, `2001:db8::/32`. */
const peerAddress = str('an IP address, IP/prefix or IP:port');

/** `modparam("permissions", …)`: which sources are peers rather than users. */
export const permissionsSchema = z.strictObject({
  trusted: d(
    z.array(peerAddress, { error: 'expected a list of addresses, e.g. [10.0.0.5, 192.0.2.0/24]' }),
    'Trusted peers (gateways, other proxies): not challenged, not rate-limited (allow_source_address group 1).',
  ),
  edges: d(
    z.array(peerAddress, { error: 'expected a list of addresses, e.g. [10.0.0.1]' }),
    "The edge proxies in front of this registrar: still challenged, but not rate-limited or banned as a source (their clients are, at the edge). Default: this file's edge elements.",
  ),
});

/** `modparam("nathelper", …)`: UAs behind NAT that do not use RFC 5626. Present: loaded. */
export const nathelperSchema = z.strictObject({
  natping_interval: d(
    int('an integer >= 0 (seconds; 0 = no pinging)', 0),
    'Seconds between keep-alive OPTIONS to a UDP UA that registered without outbound behind NAT (nat_keepalive).',
  ),
  keepalive_timeout: d(
    int('an integer >= 0 (seconds; 0 = never)', 0),
    'A pinged UA that answered nothing for this long is gone: calls to it fail at once (430).',
  ),
  sipping_from: d(str('a SIP URI'), 'From URI of the keep-alive OPTIONS.'),
});

/** `modparam("pike", …)` and failed-authentication bans per source. Present: loaded. */
export const pikeSchema = z.strictObject({
  sampling_time_unit: d(positive('seconds'), 'Window of reqs_density_per_unit (Kamailio pike).'),
  reqs_density_per_unit: d(
    positive('requests'),
    'Requests one source may send within sampling_time_unit before it is banned (Kamailio pike).',
  ),
  ban_time: d(positive('seconds'), 'How long a banned source is ignored (its requests dropped).'),
  auth_failures: d(
    positive('failed authentications'),
    'Failed authentications from one source within auth_failure_window before it is banned.',
  ),
  auth_failure_window: d(positive('seconds'), 'Window of auth_failures.'),
});

/** `modparam("registrar", …)` (the registrar module's `RegistrarParams`). */
export const registrarSchema = z.strictObject({
  default_expires: d(positive('seconds'), 'Expires used when a REGISTER gives none.'),
  min_expires: d(int('an integer >= 0 (seconds; 0 = no minimum)', 0), 'Shortest expiry granted.'),
  min_expires_mode: d(
    flag,
    '0: raise a too-short expiry to min_expires; 1: answer 423 Interval Too Brief.',
  ),
  max_expires: d(
    int('an integer >= 0 (seconds; 0 = no cap)', 0),
    'Longest expiry granted (0 = no cap).',
  ),
  max_contacts: d(int('an integer >= 0 (0 = unlimited)', 0), 'Most bindings per AoR (more: 503).'),
  default_q: dn(
    int('an integer -1..1000 (q in thousandths; -1 = none)', -1, 1000),
    'q for contacts without one, in thousandths (-1 or null: none).',
  ),
  append_branches: d(flag, 'lookup() adds every further contact as a branch.'),
  case_sensitive: d(
    flag,
    'Keep the AoR user part as written (flowgate default, decision Q-R6); 0: lower-case the whole AoR (Kamailio).',
  ),
  method_filtering: d(flag, 'lookup() skips contacts that do not accept the method.'),
  contact_max_size: d(positive('bytes'), 'Longest Contact URI accepted.'),
  retry_after: d(
    int('an integer >= 0 (seconds; 0 = none)', 0),
    'Retry-After on 5xx replies (0 = none).',
  ),
  use_path: d(flag, 'Store Path headers of REGISTERs and route through them (RFC 3327).'),
  path_mode: d(
    oneOf([0, 1, 2], '0 never echo, 1 echo when supported, 2 strict'),
    'Path in replies, and what to do when the UA does not support it.',
  ),
  gruu_enabled: d(flag, 'Hand out GRUUs (RFC 5627).'),
  outbound_mode: d(
    oneOf([0, 1, 2], '0 no outbound, 1 supported, 2 required'),
    'RFC 5626 support at the registrar.',
  ),
  regid_mode: d(flag, '1: use reg-id even when the first hop did not apply outbound.'),
  flow_timer: d(
    int('an integer 0..999 (seconds; 0 = none)', 0, 999),
    'Flow-Timer the registrar writes in 2xx (0 = none; the seed edge adds it instead).',
  ),
  temp_gruu_max: d(
    int('an integer 1..10000', 1, 10_000),
    'Temp-GRUUs one binding keeps valid (flowgate).',
  ),
});

/** Location backend (Kamailio usrloc + db_mode). */
export const usrlocSchema = z.strictObject({
  backend: d(
    z.enum(['memory', 'sqlite', 'redis'], { error: 'expected memory, sqlite or redis' }),
    'Where bindings live.',
  ),
  path: d(str('a file path'), 'SQLite file, relative to data_dir.'),
  synchronous: d(
    z.enum(['NORMAL', 'FULL'], { error: 'expected NORMAL or FULL' }),
    'SQLite synchronous pragma (FULL survives power loss).',
  ),
  url: d(
    str('a redis://, rediss://, redis+sentinel:// or redis+cluster:// URL'),
    'Redis URL (backend redis): redis://[[user]:password@]host[:port][/db] (rediss:// for TLS); redis+sentinel://[[user]:password@]host:26379[,host:port…]/<master-name>[/<db>] for the master Redis Sentinel names; redis+cluster://[[user]:password@]host:port[,host:port…] for Redis Cluster. Query ?wait=<replicas>&wait_timeout=<ms> (default 100): a write succeeds only once that many replicas have it (WAIT), else the request fails (500). Sentinels with a password: &sentinel_password=…. See docs/redis.md.',
  ),
  prefix: d(
    str('a key prefix'),
    'Redis key prefix; stores sharing it share bindings. In a Redis Cluster it is also the hash tag ({prefix}) that keeps the store in one slot.',
  ),
  timer_interval: d(positive('seconds'), 'How often expired bindings are purged.'),
  use_domain: d(flag, 'The AoR includes the domain (user@host) instead of the user only.'),
  cseq_delay: d(
    int('an integer >= 0 (seconds)', 0),
    'An equal CSeq within this many seconds is a retransmission (answered 200).',
  ),
});

/** `modparam("siptrace", …)`: HEPv3 capture of every SIP message (siptrace with hep_mode_on). Present: loaded. */
export const siptraceSchema = z.strictObject({
  duplicate_uri: d(
    str('a collector address, e.g. udp:127.0.0.1:9060'),
    'The HEP collector (Homer, heplify-server, sngrep -L): udp:host:port or tcp:host:port (IPv6 in brackets); the Kamailio form sip:host:port[;transport=tcp] is accepted too. Required.',
  ),
  hep_capture_id: d(
    int('an integer 0..4294967295 (capture agent id)', 0, 4_294_967_295),
    'Capture agent id written into every HEP packet (give each element its own to tell them apart in the collector).',
  ),
  auth_key: dn(
    str('a key'),
    'Shared key sent in every packet (HEP chunk 0x000e) for a collector that checks one; null: none.',
  ),
  trace_on: d(
    flag,
    'Capture from start; 0: start switched off. flowgate ctl capture on|off switches it at run time.',
  ),
});

const moduleToggle = <T extends z.ZodType>(schema: T) =>
  z.union([schema, z.null(), z.literal(false)], {
    error: 'expected an object of parameters, {} (load with defaults) or false (do not load)',
  });

/** Per-element modparams, Kamailio module names. */
export const modulesSchema = z.strictObject({
  tm: d(tmSchema, 'Transaction module.'),
  rr: d(rrSchema, 'Record-Route module.'),
  outbound: d(
    moduleToggle(outboundSchema),
    'RFC 5626 edge module. Present: loaded; false: not loaded. Loaded by default for script edge.',
  ),
  path: d(
    moduleToggle(pathSchema),
    'Path module (RFC 3327). Loaded by default together with outbound.',
  ),
  websocket: d(websocketSchema, 'WebSocket keep-alive.'),
  sanity: d(sanitySchema, 'Sanity checks.'),
  limits: d(limitsSchema, 'Message size and connection caps.'),
  registrar: d(
    moduleToggle(registrarSchema),
    'Registrar module: script registrar, or a custom script that calls save()/lookup().',
  ),
  usrloc: d(usrlocSchema, 'Location store of the registrar.'),
  auth: d(
    moduleToggle(authSchema),
    'Digest authentication. Present: the built-in registrar challenges REGISTER (401) and initial requests (407).',
  ),
  auth_db: d(
    authDbSchema,
    'Credentials store of the auth module (flowgate user add writes there).',
  ),
  permissions: d(permissionsSchema, 'Trusted peers and edges (by source address).'),
  nathelper: d(
    moduleToggle(nathelperSchema),
    'NAT traversal for UAs without RFC 5626 (nat_uac_test, nat_keepalive, …). Loaded by default for script edge.',
  ),
  pike: d(
    moduleToggle(pikeSchema),
    'Per-source request-rate limit and failed-authentication bans. Present: loaded.',
  ),
  siptrace: d(
    moduleToggle(siptraceSchema),
    'SIP capture: every message the element receives and sends to a HEP collector (HEPv3). Present: loaded.',
  ),
});

/** The built-in edge script's values (the seed's `#!subst` / `#!substdef`). */
export const edgeSchema = z.strictObject({
  registrar: d(
    z.union(
      [
        str('a SIP URI, e.g. sip:127.0.0.1:5070'),
        z
          .array(str('a SIP URI, e.g. sip:127.0.0.1:5070'), {
            error: 'expected a SIP URI or a list of SIP URIs',
          })
          .min(1, { error: 'expected at least one SIP URI' }),
      ],
      { error: 'expected a SIP URI or a list of SIP URIs, e.g. [sip:10.0.0.2, sip:10.0.0.3]' },
    ),
    "Where REGISTERs and clients' initial requests go (REGISTRAR_IP:REGISTRAR_PORT): one SIP URI, or a list of them (a registrar set, in priority order). A host name is resolved per RFC 3263 (NAPTR, SRV priority and weight, then A/AAAA) and every address it gives is a registrar of the set. A request that gets a 503, a transport error or no answer within registrar_timeout goes to the next registrar that is up, in the same transaction (RFC 3263 §4.3). Default: the registrar element of this file.",
  ),
  registrar_select: d(
    z.enum(['priority', 'round_robin', 'hash'], {
      error: 'expected priority, round_robin or hash',
    }),
    'How a request picks its registrar among those that are up: priority (the first in list/SRV order takes everything, the others stand by), round_robin (in turn; the registrars must share their location store), hash (by AoR: the To URI of a REGISTER, the Request-URI of other requests; for registrars with a store each).',
  ),
  registrar_probe_interval: d(
    int('an integer 0 or more (seconds)', 0, 86_400),
    'Seconds between OPTIONS probes of each registrar (Kamailio ds_ping_interval). 0: no probing, and no registrar is ever skipped.',
  ),
  registrar_probe_threshold: d(
    positive('failures', 100),
    'Failures in a row that take a registrar down: probes without an answer, with a transport error or answered 503/408, and requests without any answer or with a transport error. It is skipped until it answers a probe again.',
  ),
  registrar_timeout: d(
    positive('milliseconds', 600_000),
    'A request that got no answer at all from a registrar within this long goes to the next registrar (while there is one); also how long a probe waits.',
  ),
  flow_timer: d(
    positive('seconds'),
    'FLOW_TIMER: Flow-Timer written into 2xx to outbound REGISTERs.',
  ),
  seed_strict: d(
    flag,
    'Answer 500 like the seed for initial requests to UAs registered without outbound (decision Q-E1).',
  ),
});

/** One SIP element. */
export const elementSchema = z.strictObject({
  script: d(
    str('edge, registrar, static, or a path to a .js/.mjs/.ts script'),
    'Routing script: built-in edge | registrar | static, or a path to a module exporting default defineScript({...}). Default: the element name when it is edge or registrar.',
  ),
  listen: d(
    z.union([listenEntry, z.array(listenEntry)], {
      error: 'expected a list of listen strings like udp:127.0.0.1:5060',
    }),
    'Listening sockets: proto:address:port (IPv6 in brackets), optionally "advertise host:port"; or {proto, address, port, advertise}.',
  ),
  advertise: d(
    advertiseValue,
    'Host/port written in Via, Record-Route and Path for every listener without its own advertise.',
  ),
  tls: d(
    z.strictObject({
      cert: str('a file path').meta({
        description: 'Certificate chain (PEM), relative to the config file.',
      }),
      key: str('a file path').meta({
        description: 'Private key (PEM), relative to the config file.',
      }),
      ca: dn(
        str('a file path'),
        'CA bundle (PEM) for verifying peers, relative to the config file.',
      ),
    }),
    'TLS material for tls: and wss: listeners.',
  ),
  alias: d(
    z.union([str('a host name'), z.array(str('a host name'))], {
      error: 'expected a host name or a list of host names',
    }),
    'Kamailio alias: extra host names that are "myself".',
  ),
  force_rport: d(
    flag,
    'Kamailio force_rport: treat every request as if its Via had rport (RFC 3581).',
  ),
  tcp_connection_lifetime: d(
    positive('seconds'),
    'Idle TCP/TLS/WS connections are closed after this many seconds; one with a transaction in progress (a request still waiting for its final response) stays open until the transaction ends.',
  ),
  tcp_connect_timeout: d(positive('seconds'), 'Longest wait for an outgoing TCP/TLS connect.'),
  children: d(
    positive('processes'),
    'Accepted for compatibility: flowgate runs one process per element (a value > 1 only logs a notice).',
  ),
  server_header: dn(str('a header value'), 'Server header of local replies (null: none).'),
  allow_unauthenticated: d(
    flag,
    'Allow listening on a non-loopback address although nothing in this process authenticates users (for an edge whose registrar authenticates in another process).',
  ),
  edge: d(edgeSchema, 'Values of the built-in edge script (only with script: edge).'),
  modules: d(modulesSchema, 'Module parameters (modparam), Kamailio names and defaults.'),
});

const ELEMENT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

/** The whole file. */
export const configSchema = z.strictObject({
  data_dir: d(
    str('a directory path'),
    'Flow-token key and SQLite location db; relative to the config file (flag --data-dir overrides).',
  ),
  log: d(
    z.strictObject({
      level: d(
        z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'], {
          error: 'expected trace, debug, info, warn, error, fatal or silent',
        }),
        'Log level.',
      ),
      pretty: d(flag, 'Human-readable lines (pino-pretty) instead of JSON.'),
      file: dn(
        str('a file path'),
        'Log to this file instead of stdout (reopened on SIGHUP for logrotate); relative to the config file.',
      ),
    }),
    'Logging (pino).',
  ),
  management: d(
    z.strictObject({
      listen: d(
        z.union([str('host:port'), z.literal(false), z.null()], {
          error: 'expected host:port (e.g. 127.0.0.1:8081) or false to disable',
        }),
        'HTTP JSON API and /metrics (false: disabled).',
      ),
      token: dn(
        z.string({ error: 'expected a string of at least 16 characters' }).min(16, {
          error: 'expected a token of at least 16 characters (e.g. openssl rand -hex 16)',
        }),
        'Bearer token the API and /metrics require (/health without any token answers only up or stopping, for probes); required when listen is not a loopback address. Unset: a random token generated at first start into data_dir/management.token (mode 0600), which flowgate ctl reads.',
      ),
      hosts: d(
        z
          .array(str('a host name'), {
            error: 'expected a list of host names, e.g. [flowgate.example.com]',
          })
          .transform((a) => a.map((h) => h.toLowerCase())),
        'Further names the API answers to in the Host header (a reverse proxy, an SSH tunnel to localhost), with any port. Always accepted: the listen address with its port, and localhost:port when listening on loopback; any other Host gets 421 (DNS-rebinding protection).',
      ),
    }),
    'Management API.',
  ),
  elements: d(
    z.record(
      z.string().regex(ELEMENT_NAME, {
        error: 'element names are letters, digits, - and _ (starting with a letter, at most 32)',
      }),
      elementSchema,
    ),
    'The SIP elements this process runs, by name. Default: edge + registrar (the seed system).',
  ),
});

/** The validated file, before defaults. */
export type RawConfig = z.output<typeof configSchema>;
/** One validated element, before defaults. */
export type RawElement = z.output<typeof elementSchema>;
