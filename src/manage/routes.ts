// The management API's routes as one table: the server dispatches from it (http-api.ts binds a
// handler to every id, which the compiler checks), and scripts/gen-api-docs.ts writes docs/api.md
// from it (test/unit/manage/api-docs.test.ts keeps the two in sync).

/** Who may call a route (after the Host check, which every request passes first). */
export type RouteAuth =
  /** `Authorization: Bearer <token>` (data_dir/management.token, or `management.token`). */
  | 'token'
  /** No Authorization header: the status only (for probes); a wrong token is 401; the token: all. */
  | 'probe'
  /** The token, or the web console's session cookie (EventSource cannot send a header). */
  | 'token_or_session'
  /** Nobody's: files of the console page, which hold no data. */
  | 'none';

/** HTTP methods the API serves (HEAD is answered wherever GET is). */
export type RouteMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** One parameter of a route. */
export interface RouteParam {
  readonly name: string;
  /** `path`: a `:name` segment (%-decoded); `query`: `?name=`; `body`: a field of the JSON body. */
  readonly in: 'path' | 'query' | 'body';
  readonly type: string;
  readonly required?: boolean;
  readonly description: string;
}

/** One route of the API. */
export interface RouteSpec {
  /** Stable name, the key of its handler. */
  readonly id: string;
  readonly method: RouteMethod;
  /** `/v1/flows/:id`: `:name` matches one path segment. A trailing slash is ignored. */
  readonly path: string;
  readonly auth: RouteAuth;
  /** The section of the reference it is listed under. */
  readonly area: string;
  /** One line: what it does. */
  readonly summary: string;
  readonly params: readonly RouteParam[];
  /** Content type and shape of a successful answer. */
  readonly response: string;
  /** A successful answer (JSON routes), shortened. */
  readonly example?: unknown;
  /** Statuses besides 421 (Host), 401 (token) and 405 (method), which every route may answer. */
  readonly statuses: readonly (readonly [number, string])[];
  /** The example request: the path with its parameters filled in, and the body. */
  readonly sample: { readonly path: string; readonly body?: unknown; readonly accept?: string };
}

const element = (what: string): RouteParam => ({
  name: 'element',
  in: 'query',
  type: 'string',
  description: `only this element's ${what} (404 \`not_found\` when there is no such element)`,
});

const ELEMENT_404: readonly [number, string] = [404, '`not_found`: no such element'];
const LIMIT: RouteParam = {
  name: 'limit',
  in: 'query',
  type: 'integer 1..1000',
  description: 'rows per page (default 100)',
};
const CURSOR: RouteParam = {
  name: 'cursor',
  in: 'query',
  type: 'string',
  description: '`next` of the previous page',
};
const PAGING_400: readonly [number, string] = [
  400,
  '`bad_request`: `limit` out of range, or a `cursor` this API did not return',
];
const BODY_4XX: readonly (readonly [number, string])[] = [
  [
    400,
    '`bad_request`: not a JSON object, an unknown field, or a wrong value (the message names it)',
  ],
  [413, '`too_large`: a body over the limit'],
  [415, '`unsupported_media_type`: a body that is not `application/json`'],
];

const BINDING_EXAMPLE = {
  element: 'registrar',
  aor: 'alice@example.com',
  ruid: 'uloc-19a4f3c2b10-3f9a2c-1',
  contact: 'sip:alice@192.0.2.10:40211;transport=tcp;ob',
  expires: '2026-01-01T12:10:00.000Z',
  expires_in: 587,
  q: null,
  path: ['<sip:AX8p…@127.0.0.1:5060;lr;ob>'],
  received: null,
  instance: '<urn:uuid:00000000-0000-1000-8000-000000000001>',
  reg_id: 1,
  flow: null,
  socket: 'tcp:127.0.0.1:5070',
  user_agent: 'baresip',
  call_id: 'a84b4c76e66710',
  cseq: 3,
};

const FLOW_EXAMPLE = {
  element: 'edge',
  id: 'w0/c3',
  transport: 'tcp',
  local: '127.0.0.1:5060',
  peer: '192.0.2.10:40211',
  state: 'open',
  outgoing: false,
  age: 312.4,
  idle: 12.1,
  last_keepalive: 12.1,
};

const USER_EXAMPLE = {
  user: 'alice@example.com',
  username: 'alice',
  domain: 'example.com',
  realm: 'example.com',
  created: '2026-01-01T12:00:00.000Z',
  updated: '2026-01-01T12:00:00.000Z',
};

const USERS_NOT_CONFIGURED: readonly [number, string] = [
  404,
  '`not_configured`: no element loads the auth module',
];
const USERS_503: readonly [number, string] = [
  503,
  '`unavailable`: the credentials store failed (Redis down, database locked)',
];
const USER_PARAM: RouteParam = {
  name: 'user',
  in: 'path',
  type: 'user@domain',
  required: true,
  description: 'the user (%-encode the `@` or not)',
};

const VIEW: RouteParam = {
  name: 'view',
  in: 'query',
  type: '`all` | `flows` | `bindings` | `transactions`',
  description: 'which lists the state carries (default `all`; 400 for another value)',
};
const SEARCH: RouteParam = {
  name: 'q',
  in: 'query',
  type: 'string',
  description: 'search: an AoR or an IP address (at most 200 characters)',
};

/** Every route of the management API, in the order of the reference. */
export const ROUTES = [
  // ------------------------------------------------------------------ process
  {
    id: 'health',
    method: 'GET',
    path: '/health',
    auth: 'probe',
    area: 'Process',
    summary:
      'Liveness: `ok`, or `stopping` once a shutdown began. Without an Authorization header only the status (load balancers, probes).',
    params: [],
    response:
      'JSON `{ status }` without a token; `{ status, uptime, elements }` with it (uptime in seconds, element names)',
    example: { status: 'ok', uptime: 3600, elements: ['edge', 'registrar'] },
    statuses: [
      [200, 'up'],
      [503, 'stopping (the body says `stopping`)'],
    ],
    sample: { path: '/health' },
  },
  {
    id: 'metrics',
    method: 'GET',
    path: '/metrics',
    auth: 'token',
    area: 'Process',
    summary:
      'Prometheus metrics of every element and store (docs/operations.md, "Monitoring", says which to alert on).',
    params: [],
    response: '`text/plain; version=0.0.4`: the Prometheus text format',
    statuses: [[200, 'the metrics']],
    sample: { path: '/metrics' },
  },
  {
    id: 'elements',
    method: 'GET',
    path: '/v1/elements',
    auth: 'token',
    area: 'Process',
    summary: 'The running elements: script, modules, listeners, location store.',
    params: [element('entry')],
    response:
      'JSON `{ elements: [{ name, script, modules, listen: [{ transport, address, port, advertise }], location }] }`',
    example: {
      elements: [
        {
          name: 'edge',
          script: 'edge',
          modules: ['tm', 'rr', 'path', 'outbound'],
          listen: [{ transport: 'tcp', address: '127.0.0.1', port: 5060, advertise: null }],
          location: null,
        },
      ],
    },
    statuses: [[200, 'the elements'], ELEMENT_404],
    sample: { path: '/v1/elements' },
  },
  {
    id: 'stats',
    method: 'GET',
    path: '/v1/stats',
    auth: 'token',
    area: 'Process',
    summary:
      'Counters per element (requests and replies by method and code, transactions, flows, bindings, 430s) and store latency.',
    params: [element('counters')],
    response:
      'JSON `{ uptime, version, memory: { rss, heap_used }, store: [{ store, op, count, seconds }], elements: { <name>: { requests, replies, transactions: { server, client }, flows: { <transport>: n }, bindings, flow_failed_430, flow_token_failures, script_errors, transport } } }`',
    example: {
      uptime: 3600,
      version: '0.1.0',
      memory: { rss: 81264640, heap_used: 20381312 },
      store: [{ store: 'sqlite', op: 'get', count: 42, seconds: 0.004 }],
      elements: {
        registrar: {
          requests: { REGISTER: 40, INVITE: 2 },
          replies: { '200': 41, '480': 1 },
          transactions: { server: 0, client: 0 },
          flows: { udp: 1 },
          bindings: 1,
          flow_failed_430: 0,
          flow_token_failures: 0,
          script_errors: 0,
          transport: null,
        },
      },
    },
    statuses: [[200, 'the counters'], ELEMENT_404],
    sample: { path: '/v1/stats?element=registrar' },
  },
  {
    id: 'registrars',
    method: 'GET',
    path: '/v1/registrars',
    auth: 'token',
    area: 'Process',
    summary:
      "An edge's registrar set: each registrar's state (`up`/`down`), since when, and its last probe.",
    params: [element('registrars')],
    response:
      'JSON `{ registrars: [{ element, uri, source, transport, address, port, state, since, for_s, last_probe, last_result, failures, failovers }] }` (empty for elements without a registrar set)',
    example: {
      registrars: [
        {
          element: 'edge',
          uri: 'sip:127.0.0.1:5070;transport=udp',
          source: '127.0.0.1:5070',
          transport: 'udp',
          address: '127.0.0.1',
          port: 5070,
          state: 'up',
          since: '2026-01-01T12:00:00.000Z',
          for_s: 3600,
          last_probe: null,
          last_result: null,
          failures: 0,
          failovers: 0,
        },
      ],
    },
    statuses: [[200, 'the registrars'], ELEMENT_404],
    sample: { path: '/v1/registrars' },
  },
  // ------------------------------------------------------------------ flows
  {
    id: 'flows.list',
    method: 'GET',
    path: '/v1/flows',
    auth: 'token',
    area: 'Flows',
    summary: 'The open flows (connections, and UDP peers) of every element.',
    params: [
      element('flows'),
      {
        name: 'transport',
        in: 'query',
        type: '`udp` | `tcp` | `tls` | `ws` | `wss`',
        description: 'only flows of this transport',
      },
    ],
    response:
      'JSON `{ flows: [{ element, id, transport, local, peer, state, outgoing, age, idle, last_keepalive }] }` (seconds; `last_keepalive` null before the first)',
    example: { flows: [FLOW_EXAMPLE] },
    statuses: [[200, 'the flows'], [400, '`bad_request`: an unknown transport'], ELEMENT_404],
    sample: { path: '/v1/flows?transport=tcp' },
  },
  {
    id: 'flows.close',
    method: 'DELETE',
    path: '/v1/flows/:id',
    auth: 'token',
    area: 'Flows',
    summary:
      'Closes a connection flow, as if the phone had gone (it reconnects and registers again; until then calls to it get 480).',
    params: [
      {
        name: 'id',
        in: 'path',
        type: 'string',
        required: true,
        description: 'the flow id `GET /v1/flows` lists (`w0/c3`: %-encode the `/`)',
      },
      element('flows'),
    ],
    response: 'JSON `{ closed: <the flow as GET /v1/flows shows it> }`',
    example: { closed: FLOW_EXAMPLE },
    statuses: [
      [200, 'closed'],
      [404, '`not_found`: no open flow with that id, or no such element'],
      [409, '`conflict`: a UDP flow (there is no connection to close)'],
      [501, "`not_implemented`: the element's transport cannot close flows"],
    ],
    sample: { path: '/v1/flows/w0%2Fc3' },
  },
  // ------------------------------------------------------------------ bindings
  {
    id: 'bindings.list',
    method: 'GET',
    path: '/v1/bindings',
    auth: 'token',
    area: 'Bindings',
    summary: 'The bindings of every location store, a page at a time.',
    params: [
      element('store'),
      {
        name: 'aor',
        in: 'query',
        type: 'string',
        description:
          'only this AoR (`alice`, `alice@example.com` or `sip:alice@example.com`, as the registrar keys it); no paging',
      },
      LIMIT,
      CURSOR,
    ],
    response:
      'JSON `{ bindings: [{ element, aor, ruid, contact, expires, expires_in, q, path, received, instance, reg_id, flow, socket, user_agent, call_id, cseq }], next }` (`next`: the cursor of the next page, or null)',
    example: { bindings: [BINDING_EXAMPLE], next: null },
    statuses: [
      [200, 'a page'],
      PAGING_400,
      [404, '`not_found`: no such element, or the element has no location store'],
    ],
    sample: { path: '/v1/bindings?limit=100' },
  },
  {
    id: 'bindings.aor',
    method: 'GET',
    path: '/v1/bindings/:aor',
    auth: 'token',
    area: 'Bindings',
    summary: 'The bindings of one AoR (the same as `GET /v1/bindings?aor=`).',
    params: [
      { name: 'aor', in: 'path', type: 'string', required: true, description: 'the AoR' },
      element('store'),
    ],
    response: 'JSON `{ bindings: [...], next: null }`, as `GET /v1/bindings`',
    example: { bindings: [BINDING_EXAMPLE], next: null },
    statuses: [
      [200, 'the bindings (an empty list when there are none)'],
      [404, '`not_found`: no such element, or the element has no location store'],
    ],
    sample: { path: '/v1/bindings/alice@example.com' },
  },
  {
    id: 'bindings.removeAor',
    method: 'DELETE',
    path: '/v1/bindings/:aor',
    auth: 'token',
    area: 'Bindings',
    summary: 'Removes every binding of an AoR (`flowgate ctl unbind AOR`).',
    params: [
      { name: 'aor', in: 'path', type: 'string', required: true, description: 'the AoR' },
      element('store'),
    ],
    response: 'JSON `{ removed: n }`',
    example: { removed: 2 },
    statuses: [
      [200, 'removed'],
      [404, '`not_found`: no bindings for that AoR, no such element, or no location store'],
    ],
    sample: { path: '/v1/bindings/alice@example.com' },
  },
  {
    id: 'bindings.remove',
    method: 'DELETE',
    path: '/v1/bindings/:aor/:ruid',
    auth: 'token',
    area: 'Bindings',
    summary: 'Removes one binding of an AoR (`flowgate ctl unbind AOR RUID`).',
    params: [
      { name: 'aor', in: 'path', type: 'string', required: true, description: 'the AoR' },
      {
        name: 'ruid',
        in: 'path',
        type: 'string',
        required: true,
        description: "the binding's `ruid`",
      },
      element('store'),
    ],
    response: 'JSON `{ removed: 1 }`',
    example: { removed: 1 },
    statuses: [
      [200, 'removed'],
      [404, '`not_found`: no such binding of that AoR, no such element, or no location store'],
    ],
    sample: { path: '/v1/bindings/alice@example.com/uloc-19a4f3c2b10-3f9a2c-1' },
  },
  // ------------------------------------------------------------------ log level, TLS
  {
    id: 'loglevel.get',
    method: 'GET',
    path: '/v1/loglevel',
    auth: 'token',
    area: 'Log level and TLS',
    summary: 'The log level of the process and of each element.',
    params: [element('level (checked; the answer lists every element)')],
    response: 'JSON `{ level, elements: { <name>: level } }`',
    example: { level: 'info', elements: { edge: 'debug', registrar: 'info' } },
    statuses: [
      [200, 'the levels'],
      [404, '`not_configured`: no log level control (an embedded server), or no such element'],
    ],
    sample: { path: '/v1/loglevel' },
  },
  {
    id: 'loglevel.set',
    method: 'PUT',
    path: '/v1/loglevel',
    auth: 'token',
    area: 'Log level and TLS',
    summary:
      "Sets the log level of the process, or of one element's lines, until the next restart (`flowgate ctl loglevel`).",
    params: [
      {
        name: 'level',
        in: 'body',
        type: '`trace` | `debug` | `info` | `warn` | `error` | `fatal` | `silent`',
        required: true,
        description: 'the new level',
      },
      {
        name: 'element',
        in: 'body',
        type: 'string',
        description: "only this element's lines (default: the whole process)",
      },
    ],
    response: 'JSON `{ level, elements: { <name>: level } }`, after the change',
    example: { level: 'info', elements: { edge: 'debug', registrar: 'info' } },
    statuses: [
      [200, 'changed'],
      ...BODY_4XX,
      [404, '`not_configured`: no log level control, or `not_found`: no such element'],
    ],
    sample: { path: '/v1/loglevel', body: { level: 'debug', element: 'edge' } },
  },
  {
    id: 'tls.reload',
    method: 'POST',
    path: '/v1/tls/reload',
    auth: 'token',
    area: 'Log level and TLS',
    summary:
      "Reads every element's TLS certificate and key files again (renewal; open TLS and WSS connections keep theirs). The same as SIGHUP and `flowgate ctl reload-tls`.",
    params: [],
    response: 'JSON `{ elements: [{ element, ok, error? }] }`',
    example: { elements: [{ element: 'edge', ok: true }] },
    statuses: [
      [200, 'every element reloaded'],
      [404, '`not_configured`: no element has `tls:` files'],
      [
        422,
        '`tls_reload_failed`: a file did not load; the previous certificate stays in use (the body has `elements` too)',
      ],
    ],
    sample: { path: '/v1/tls/reload' },
  },
  // ------------------------------------------------------------------ users
  {
    id: 'users.list',
    method: 'GET',
    path: '/v1/users',
    auth: 'token',
    area: 'Users',
    summary:
      'The users of the credentials store (docs/users.md), a page at a time. HA1 values never leave the process.',
    params: [
      { name: 'domain', in: 'query', type: 'string', description: 'only users of this domain' },
      LIMIT,
      CURSOR,
    ],
    response: 'JSON `{ users: [{ user, username, domain, realm, created, updated }], next }`',
    example: { users: [USER_EXAMPLE], next: null },
    statuses: [[200, 'a page'], PAGING_400, USERS_NOT_CONFIGURED, USERS_503],
    sample: { path: '/v1/users?domain=example.com' },
  },
  {
    id: 'users.add',
    method: 'POST',
    path: '/v1/users',
    auth: 'token',
    area: 'Users',
    summary: 'Adds a user (`flowgate user add`).',
    params: [
      { name: 'user', in: 'body', type: 'user@domain', required: true, description: 'the user' },
      {
        name: 'password',
        in: 'body',
        type: 'string',
        required: true,
        description: 'its password (stored only as HA1 digests)',
      },
      {
        name: 'realm',
        in: 'body',
        type: 'string',
        description: 'the realm of the digests (default `modules.auth.realm`, else the domain)',
      },
    ],
    response: 'JSON `{ user: {...} }`, and `Location: /v1/users/<user>`',
    example: { user: USER_EXAMPLE },
    statuses: [
      [201, 'added'],
      ...BODY_4XX,
      USERS_NOT_CONFIGURED,
      [409, '`conflict`: the user exists (change its password with PUT)'],
      USERS_503,
    ],
    sample: {
      path: '/v1/users',
      body: { user: 'alice@example.com', password: 'correct horse battery' },
    },
  },
  {
    id: 'users.get',
    method: 'GET',
    path: '/v1/users/:user',
    auth: 'token',
    area: 'Users',
    summary: 'One user.',
    params: [USER_PARAM],
    response: 'JSON `{ user: { user, username, domain, realm, created, updated } }`',
    example: { user: USER_EXAMPLE },
    statuses: [
      [200, 'the user'],
      [400, '`bad_request`: not a user@domain'],
      [404, '`not_found`: no such user, or `not_configured`'],
      USERS_503,
    ],
    sample: { path: '/v1/users/alice@example.com' },
  },
  {
    id: 'users.set',
    method: 'PUT',
    path: '/v1/users/:user',
    auth: 'token',
    area: 'Users',
    summary: "Changes a user's password (`flowgate user passwd`).",
    params: [
      USER_PARAM,
      { name: 'password', in: 'body', type: 'string', required: true, description: 'the new one' },
      { name: 'realm', in: 'body', type: 'string', description: 'as for POST' },
    ],
    response: 'JSON `{ user: {...} }` (`created` kept, `updated` now)',
    example: { user: USER_EXAMPLE },
    statuses: [
      [200, 'changed'],
      ...BODY_4XX,
      [404, '`not_found`: no such user (add it with POST), or `not_configured`'],
      USERS_503,
    ],
    sample: { path: '/v1/users/alice@example.com', body: { password: 'a new passphrase' } },
  },
  {
    id: 'users.remove',
    method: 'DELETE',
    path: '/v1/users/:user',
    auth: 'token',
    area: 'Users',
    summary: 'Removes a user (`flowgate user remove`); its bindings stay until they expire.',
    params: [USER_PARAM],
    response: 'no body',
    statuses: [
      [204, 'removed'],
      [400, '`bad_request`: not a user@domain'],
      [404, '`not_found`: no such user, or `not_configured`'],
      USERS_503,
    ],
    sample: { path: '/v1/users/alice@example.com' },
  },
  // ------------------------------------------------------------------ capture and trace
  {
    id: 'capture.get',
    method: 'GET',
    path: '/v1/capture',
    auth: 'token',
    area: 'Capture and trace',
    summary:
      'HEP capture per element: whether siptrace is loaded and on, its collector, and its counters (`flowgate ctl capture`).',
    params: [element('capture')],
    response:
      'JSON `{ elements: [{ element, loaded, enabled, collector?, hep_capture_id?, sent?, dropped?, errors?, connected?, error? }], trace_streams }`',
    example: {
      elements: [
        {
          element: 'edge',
          loaded: true,
          enabled: true,
          collector: 'udp:10.0.0.50:9060',
          hep_capture_id: 1,
          sent: 1200,
          dropped: 0,
          errors: 0,
          connected: true,
        },
        { element: 'registrar', loaded: false, enabled: false },
      ],
      trace_streams: 0,
    },
    statuses: [[200, 'the capture state'], ELEMENT_404],
    sample: { path: '/v1/capture' },
  },
  {
    id: 'capture.set',
    method: 'PUT',
    path: '/v1/capture',
    auth: 'token',
    area: 'Capture and trace',
    summary:
      'Switches HEP capture on or off until the next restart (Kamailio `siptrace.status on|off`; `flowgate ctl capture on|off`).',
    params: [
      { name: 'enabled', in: 'body', type: 'boolean', required: true, description: 'on or off' },
      {
        name: 'element',
        in: 'body',
        type: 'string',
        description: 'only this element (default: every element that loads siptrace)',
      },
    ],
    response: 'JSON, as `GET /v1/capture`, after the change',
    statuses: [
      [200, 'switched'],
      ...BODY_4XX,
      [404, '`not_configured`: the element (or every element) loads no siptrace; `not_found`'],
      [502, '`collector_unreachable`: the collector cannot be opened (its name does not resolve)'],
    ],
    sample: { path: '/v1/capture', body: { enabled: false, element: 'edge' } },
  },
  {
    id: 'trace',
    method: 'GET',
    path: '/v1/trace',
    auth: 'token',
    area: 'Capture and trace',
    summary:
      'The live trace: every SIP message the elements receive and send, as it flows, until the client disconnects (`flowgate ctl trace`).',
    params: [
      element('messages'),
      {
        name: 'aor',
        in: 'query',
        type: 'string',
        description:
          'messages whose From, To or request URI has this user (`alice`, or `alice@example.com`), and the rest of their calls',
      },
      { name: 'call_id', in: 'query', type: 'string', description: 'one call' },
    ],
    response:
      '`application/x-ndjson`, one object a line: `{"type":"start",elements,filter}`, then `{"type":"message",time,ts_us,element,direction,transport,src,dst,call_id,first_line,bytes,message}` per message, `{"type":"dropped",count}` after messages a slow client missed, `{"type":"keepalive"}` every 15 s when idle. Server-Sent Events (the same objects, the type as event name) when the request accepts `text/event-stream`',
    statuses: [
      [200, 'the stream'],
      ELEMENT_404,
      [501, '`not_implemented`: the elements cannot be traced'],
      [503, '`busy`: 8 traces are open already'],
    ],
    sample: { path: '/v1/trace?aor=alice' },
  },
  // ------------------------------------------------------------------ web console
  {
    id: 'console.root',
    method: 'GET',
    path: '/',
    auth: 'none',
    area: 'Web console',
    summary:
      'A browser opening the API lands on the console: a redirect to `/console/` (with an Authorization header: 404, this is the API).',
    params: [],
    response: '302 to `/console/`',
    statuses: [
      [302, 'to `/console/`'],
      [404, 'the request carried an Authorization header'],
    ],
    sample: { path: '/' },
  },
  {
    id: 'console.page',
    method: 'GET',
    path: '/console/',
    auth: 'none',
    area: 'Web console',
    summary:
      'The console page (docs/console.md); `/console` redirects here. It holds no data: it asks for the token and then calls the routes below.',
    params: [],
    response:
      '`text/html` with a strict Content-Security-Policy; ETag, `If-None-Match` answers 304',
    statuses: [
      [200, 'the page'],
      [301, '`/console` to `/console/`'],
      [304, 'unchanged'],
      [503, '`not_built`: the page is not built (`npm run build`)'],
      [404, '`not_configured`: the console is off'],
    ],
    sample: { path: '/console/' },
  },
  {
    id: 'console.file',
    method: 'GET',
    path: '/console/:file',
    auth: 'none',
    area: 'Web console',
    summary: 'A file of the console page (script, style sheet).',
    params: [
      {
        name: 'file',
        in: 'path',
        type: 'file name',
        required: true,
        description: 'a file of the built page (`.js`, `.css`, `.html`, `.svg`, `.txt`)',
      },
    ],
    response: 'the file, with its type, ETag and the page headers',
    statuses: [
      [200, 'the file'],
      [304, 'unchanged'],
      [404, '`not_found`: no such file, or `not_configured`: the console is off'],
    ],
    sample: { path: '/console/console.js' },
  },
  {
    id: 'console.session.open',
    method: 'POST',
    path: '/v1/console/session',
    auth: 'token',
    area: 'Web console',
    summary:
      'Trades the token for a session cookie (`flowgate_console`, HttpOnly, SameSite=Strict, Path=/v1/) that opens `GET /v1/events` and nothing else.',
    params: [],
    response: 'JSON `{ expires_in }` (seconds) and `Set-Cookie`',
    example: { expires_in: 43200 },
    statuses: [
      [200, 'a session'],
      [404, '`not_configured`: the console is off'],
    ],
    sample: { path: '/v1/console/session' },
  },
  {
    id: 'console.session.close',
    method: 'DELETE',
    path: '/v1/console/session',
    auth: 'token',
    area: 'Web console',
    summary: "Ends the request cookie's session (log out).",
    params: [],
    response:
      'JSON `{ ended }` (false when the request had no cookie) and a `Set-Cookie` that clears it',
    example: { ended: true },
    statuses: [
      [200, 'ended'],
      [404, '`not_configured`: the console is off'],
    ],
    sample: { path: '/v1/console/session' },
  },
  {
    id: 'console.state',
    method: 'GET',
    path: '/v1/console/state',
    auth: 'token',
    area: 'Web console',
    summary: 'The state the console shows: elements, flows, bindings and transactions, searched.',
    params: [VIEW, SEARCH],
    response:
      'JSON `{ at, version, query, view, elements, flows, bindings, transactions, errors }` (each list `{ total, rows, truncated }`)',
    statuses: [
      [200, 'the state'],
      [400, '`bad_request`: an unknown view'],
      [404, '`not_configured`: the console is off'],
    ],
    sample: { path: '/v1/console/state?view=flows&q=alice' },
  },
  {
    id: 'console.rates',
    method: 'GET',
    path: '/v1/console/rates',
    auth: 'token',
    area: 'Web console',
    summary: 'Requests and replies per second of each element over the last 15 minutes.',
    params: [],
    response: 'JSON `{ step, t: [epoch seconds], series: { <element>: { requests, replies } } }`',
    statuses: [
      [200, 'the rates'],
      [404, '`not_configured`: the console is off'],
    ],
    sample: { path: '/v1/console/rates' },
  },
  {
    id: 'console.stats',
    method: 'GET',
    path: '/v1/console/stats',
    auth: 'token',
    area: 'Web console',
    summary: "What the console's push has cost since start.",
    params: [],
    response: 'JSON `{ streams, states, events, bytes, ms }`',
    example: { streams: 1, states: 120, events: 480, bytes: 912000, ms: 35.2 },
    statuses: [
      [200, 'the counters'],
      [404, '`not_configured`: the console is off'],
    ],
    sample: { path: '/v1/console/stats' },
  },
  {
    id: 'events',
    method: 'GET',
    path: '/v1/events',
    auth: 'token_or_session',
    area: 'Web console',
    summary:
      "The console's live feed: Server-Sent Events of the state of one view and search (when a row comes or goes, else every second while something changes) and one rate point a second.",
    params: [VIEW, SEARCH],
    response:
      '`text/event-stream`: `rates` (the 15 minutes) first, then `state` events (as `GET /v1/console/state`) and `rate` events',
    statuses: [
      [200, 'the stream'],
      [400, '`bad_request`: an unknown view'],
      [403, '`forbidden`: a cookie sent from another site (`Sec-Fetch-Site`)'],
      [404, '`not_configured`: the console is off'],
      [503, '`too_many_streams`: 32 streams are open already (`Retry-After: 5`)'],
    ],
    sample: { path: '/v1/events?view=flows', accept: 'text/event-stream' },
  },
] as const satisfies readonly RouteSpec[];

/** The id of a route of {@link ROUTES}. */
export type RouteId = (typeof ROUTES)[number]['id'];

/** A request's path without trailing slashes (`/` for the root). */
export function normalizePath(p: string): string {
  return p.replace(/\/+$/, '') || '/';
}

/** The `:name` values when `path` (normalized) fits `pattern`, else undefined. Values stay %-encoded. */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const want = normalizePath(pattern).split('/');
  const got = path.split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] as string;
    const g = got[i] as string;
    if (w.startsWith(':')) {
      if (g === '') return undefined;
      params[w.slice(1)] = g;
    } else if (w !== g) return undefined;
  }
  return params;
}

/** The routes whose path fits `path` (normalized), with their `:name` values. */
export function routesFor(
  path: string,
): { route: (typeof ROUTES)[number]; params: Record<string, string> }[] {
  const out: { route: (typeof ROUTES)[number]; params: Record<string, string> }[] = [];
  for (const route of ROUTES) {
    const params = matchPath(route.path, path);
    if (params !== undefined) out.push({ route, params });
  }
  return out;
}
