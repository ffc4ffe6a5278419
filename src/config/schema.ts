import { z } from 'zod';
import { d, dn, flag, int, positive, str } from './schema-kit.js';
import { advertiseValue, listenEntry } from './schema-listen.js';
import { modulesSchema } from './schema-modules.js';

/**
 * The schema of `flowgate.yaml` as written: every key optional, unknown keys rejected. Defaults
 * are not applied here: `build.ts` applies Kamailio's defaults and the built-in script's profile
 * (`defaults.ts`), so that the seed's own values stay visible in one table.
 *
 * Every field carries a description (`.meta({ description })`): `scripts/gen-config-docs.ts`
 * turns the schema into `docs/configuration.md`.
 */

export { flag } from './schema-kit.js';
export {
  authDbSchema,
  authSchema,
  limitsSchema,
  modulesSchema,
  nathelperSchema,
  outboundSchema,
  pathSchema,
  permissionsSchema,
  pikeSchema,
  registrarSchema,
  rrSchema,
  sanitySchema,
  siptraceSchema,
  tmSchema,
  usrlocSchema,
  websocketSchema,
} from './schema-modules.js';

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
  warmup: d(
    int('an integer 0 or more (REGISTERs)', 0, 100_000),
    'flowgate start: REGISTERs driven through a private edge + registrar on 127.0.0.1 before the listeners open, so the first second of load is not served by unoptimized code (0: off). At most 5 s.',
  ),
  helper_threads_nice: d(
    int('an integer from 0 to 19', 0, 19),
    "flowgate start (Linux): nice added to the process's helper threads (V8's garbage-collection and compiler workers, libuv's pool) once it has warmed up, so that on a machine with few cores a full collection cannot keep the event loop that answers SIP waiting for a core (0: leave them as they are). The main thread's own priority is not changed.",
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
