// Small HTTP helpers shared by the management routes: the refusal every handler throws, JSON
// answers, and reading a small JSON body.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SipError } from '../errors/index.js';

/** A request the API refuses: HTTP status, a stable error word, and what is wrong. */
export class HttpError extends SipError {
  override name = 'HttpError';
  readonly httpStatus: number;
  readonly error: string;
  constructor(httpStatus: number, error: string, message: string) {
    super(`MGMT_ERR_${error.toUpperCase()}`, message);
    this.httpStatus = httpStatus;
    this.error = error;
  }
}

/** Answers `body` as JSON (pretty, one trailing newline); 204 has no body. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (status === 204) {
    res.writeHead(204, { 'cache-control': 'no-store' });
    res.end();
    return;
  }
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

/** The JSON object of a small request body (at most `maxBytes`). */
export async function readJsonObject(
  req: IncomingMessage,
  maxBytes: number,
): Promise<Record<string, unknown>> {
  const type = req.headers['content-type'];
  if (type !== undefined && !/^application\/json\s*(;|$)/i.test(type))
    throw new HttpError(415, 'unsupported_media_type', 'send the body as application/json');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes)
      throw new HttpError(413, 'too_large', `the body is larger than ${maxBytes} bytes`);
    chunks.push(chunk);
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    // the body may hold a password: never echo it
    throw new HttpError(400, 'bad_request', 'the body is not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    throw new HttpError(400, 'bad_request', 'the body must be a JSON object');
  return v as Record<string, unknown>;
}

/** Rows per page of a listing route when `?limit=` is absent, and the most it may ask for. */
export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

/** The `?limit=` of a paged listing (1..MAX_PAGE_LIMIT, default DEFAULT_PAGE_LIMIT); 400 otherwise. */
export function pageLimit(q: URLSearchParams): number {
  const text = q.get('limit');
  const limit = text === null ? DEFAULT_PAGE_LIMIT : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT)
    throw new HttpError(
      400,
      'bad_request',
      `limit: expected an integer 1..${MAX_PAGE_LIMIT}, got '${text}'`,
    );
  return limit;
}

/** A request as the router hands it to a route's handler. */
export interface RouteRequest {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** The method as sent (HEAD reaches the GET handler). */
  readonly method: string;
  /** Path without trailing slashes (`/` for the root). */
  readonly path: string;
  /** The path as sent (`/console/` keeps its slash). */
  readonly rawPath: string;
  readonly query: URLSearchParams;
  /** The `:name` segments of the route's path, %-decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The request carried the management token. */
  readonly authorized: boolean;
}

/** Answers one route. */
export type RouteHandler = (r: RouteRequest) => void | Promise<void>;
