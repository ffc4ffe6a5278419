// The management API's routes: the process, flows, bindings, log level and TLS. One part of the table
// in routes.ts, in the order of the reference.
import {
  BINDING_EXAMPLE,
  BODY_4XX,
  CURSOR,
  ELEMENT_404,
  element,
  FLOW_EXAMPLE,
  LIMIT,
  PAGING_400,
  type RouteSpec,
} from './route-spec.js';

export const STATUS_ROUTES = [
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
] as const satisfies readonly RouteSpec[];
