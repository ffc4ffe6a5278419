import { z } from 'zod';
import { d, dn, flag, int, oneOf, positive, secret, str } from './schema-kit.js';

// Module parameters (`modules:`), Kamailio module names: one schema per module.

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
