// The management API's routes: the web console and its event streams. One part of the table
// in routes.ts, in the order of the reference.
import { type RouteSpec, SEARCH, VIEW } from './route-spec.js';

export const CONSOLE_ROUTES = [
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
