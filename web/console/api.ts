// Talking to the management API from the page: the token (kept for this tab only, in
// sessionStorage), JSON calls with it in the Authorization header, and the event stream, which
// authenticates with the session cookie that POST /v1/console/session sets (EventSource cannot send
// headers, and the token never goes into a URL).
import type {
  ConsoleRatePoint,
  ConsoleRates,
  ConsoleState,
  ConsoleView,
} from '../../src/manage/console/types.js';

const TOKEN_KEY = 'flowgate.console.token';

/** A refused call: the HTTP status and the API's message. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** The token this tab logged in with (kept until the tab closes or the user logs out). */
export function savedToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

/** One call to the management API with the token; resolves to the JSON answer. */
export async function call(token: string, method: string, path: string): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch (e) {
    throw new ApiError(
      0,
      `flowgate did not answer (${e instanceof Error ? e.message : String(e)})`,
    );
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    body = null;
  }
  if (!res.ok) {
    const m = (body as { message?: unknown } | null)?.message;
    throw new ApiError(res.status, typeof m === 'string' ? m : `HTTP ${res.status}`);
  }
  return body;
}

/** Checks the token and opens a console session (the event stream's cookie); keeps the token. */
export async function login(token: string): Promise<void> {
  await call(token, 'POST', '/v1/console/session');
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    // private mode without storage: the token lives as long as the page
  }
}

/** Ends the session and forgets the token. */
export async function logout(token: string): Promise<void> {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // nothing kept
  }
  await call(token, 'DELETE', '/v1/console/session').catch(() => undefined);
}

/** Connection state of the event stream, as the header shows it. */
export type LiveStatus = 'connecting' | 'live' | 'reconnecting';

/** What the event stream delivers. */
export interface LiveHandlers {
  state(s: ConsoleState): void;
  /** The whole 15 minutes (on every (re)connection). */
  rates(r: ConsoleRates): void;
  /** One new point a second. */
  rate(p: ConsoleRatePoint): void;
  status(s: LiveStatus): void;
  /** The token is no longer accepted (flowgate restarted with another one). */
  expired(message: string): void;
}

/**
 * Opens `GET /v1/events?view=…&q=…` (the list the page shows, and the search) and keeps it open: the browser reconnects by itself after a network
 * error; after a refusal (the session is gone: flowgate restarted) a new session is opened with the
 * token and the stream again. Returns the function that closes it.
 */
export function openEvents(
  token: string,
  view: ConsoleView,
  query: string,
  h: LiveHandlers,
): () => void {
  let es: EventSource | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  let failures = 0;

  const open = (): void => {
    if (closed) return;
    h.status(failures === 0 ? 'connecting' : 'reconnecting');
    const s = new EventSource(`/v1/events?view=${view}&q=${encodeURIComponent(query)}`);
    es = s;
    s.addEventListener('open', () => {
      failures = 0;
      h.status('live');
    });
    s.addEventListener('state', (e) => h.state(JSON.parse((e as MessageEvent<string>).data)));
    s.addEventListener('rates', (e) => h.rates(JSON.parse((e as MessageEvent<string>).data)));
    s.addEventListener('rate', (e) => h.rate(JSON.parse((e as MessageEvent<string>).data)));
    s.addEventListener('error', () => {
      if (closed) return;
      if (s.readyState !== EventSource.CLOSED) {
        h.status('reconnecting');
        return;
      }
      // refused (401 without a session, 503 too many pages): a new session, then again
      s.close();
      failures++;
      h.status('reconnecting');
      retry = setTimeout(
        () => {
          login(token)
            .then(open)
            .catch((err: unknown) => {
              if (err instanceof ApiError && err.status === 401) h.expired(err.message);
              else retry = setTimeout(open, 2000);
            });
        },
        Math.min(10_000, 500 * 2 ** Math.min(failures, 5)),
      );
    });
  };
  open();
  return () => {
    closed = true;
    if (retry !== undefined) clearTimeout(retry);
    es?.close();
  };
}
