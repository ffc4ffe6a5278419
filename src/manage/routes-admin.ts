// The management API's routes: users, capture and trace. One part of the table
// in routes.ts, in the order of the reference.
import {
  BODY_4XX,
  CURSOR,
  ELEMENT_404,
  element,
  LIMIT,
  PAGING_400,
  type RouteSpec,
  USER_EXAMPLE,
  USER_PARAM,
  USERS_503,
  USERS_NOT_CONFIGURED,
} from './route-spec.js';

export const ADMIN_ROUTES = [
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
] as const satisfies readonly RouteSpec[];
