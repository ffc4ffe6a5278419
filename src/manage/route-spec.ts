// What a route of the management API is (the types of routes.ts's table), and the parameters,
// statuses and examples several routes share.

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

export const element = (what: string): RouteParam => ({
  name: 'element',
  in: 'query',
  type: 'string',
  description: `only this element's ${what} (404 \`not_found\` when there is no such element)`,
});

export const ELEMENT_404: readonly [number, string] = [404, '`not_found`: no such element'];
export const LIMIT: RouteParam = {
  name: 'limit',
  in: 'query',
  type: 'integer 1..1000',
  description: 'rows per page (default 100)',
};
export const CURSOR: RouteParam = {
  name: 'cursor',
  in: 'query',
  type: 'string',
  description: '`next` of the previous page',
};
export const PAGING_400: readonly [number, string] = [
  400,
  '`bad_request`: `limit` out of range, or a `cursor` this API did not return',
];
export const BODY_4XX: readonly (readonly [number, string])[] = [
  [
    400,
    '`bad_request`: not a JSON object, an unknown field, or a wrong value (the message names it)',
  ],
  [413, '`too_large`: a body over the limit'],
  [415, '`unsupported_media_type`: a body that is not `application/json`'],
];

export const BINDING_EXAMPLE = {
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

export const FLOW_EXAMPLE = {
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

export const USER_EXAMPLE = {
  user: 'alice@example.com',
  username: 'alice',
  domain: 'example.com',
  realm: 'example.com',
  created: '2026-01-01T12:00:00.000Z',
  updated: '2026-01-01T12:00:00.000Z',
};

export const USERS_NOT_CONFIGURED: readonly [number, string] = [
  404,
  '`not_configured`: no element loads the auth module',
];
export const USERS_503: readonly [number, string] = [
  503,
  '`unavailable`: the credentials store failed (Redis down, database locked)',
];
export const USER_PARAM: RouteParam = {
  name: 'user',
  in: 'path',
  type: 'user@domain',
  required: true,
  description: 'the user (%-encode the `@` or not)',
};

export const VIEW: RouteParam = {
  name: 'view',
  in: 'query',
  type: '`all` | `flows` | `bindings` | `transactions`',
  description: 'which lists the state carries (default `all`; 400 for another value)',
};
export const SEARCH: RouteParam = {
  name: 'q',
  in: 'query',
  type: 'string',
  description: 'search: an AoR or an IP address (at most 200 characters)',
};
