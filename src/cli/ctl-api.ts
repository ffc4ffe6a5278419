import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANAGEMENT_TOKEN_FILE } from './instance.js';

// Talking to the management API: where it is, its token, one HTTP request.

/** Where the management API is and how to authenticate. */
export interface CtlTarget {
  readonly url: string;
  readonly token: string | undefined;
  /** Why no token was found, told when the API answers 401. */
  readonly tokenHint?: string | undefined;
}

/**
 * The token `flowgate start` generated in a data directory (`data_dir/management.token`), or why
 * it cannot be read.
 */
export function readTokenFile(
  dataDir: string,
): { readonly token: string } | { readonly token: undefined; readonly why: string } {
  const file = join(dataDir, MANAGEMENT_TOKEN_FILE);
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token !== '') return { token };
    return { token: undefined, why: `${file} is empty` };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      return {
        token: undefined,
        why: `no token given and no ${file}: pass --data-dir or -c as given to flowgate start, --token, or $FLOWGATE_TOKEN`,
      };
    if (code === 'EACCES')
      return {
        token: undefined,
        why: `cannot read ${file}: permission denied (run ctl as the user flowgate runs as, or pass --token)`,
      };
    return { token: undefined, why: `cannot read ${file}: ${(e as Error).message}` };
  }
}

export interface Reply {
  readonly status: number;
  readonly body: unknown;
}

export async function call(
  t: CtlTarget,
  method: string,
  path: string,
  payload?: Record<string, unknown>,
): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t.token !== undefined) headers['authorization'] = `Bearer ${t.token}`;
  if (payload !== undefined) headers['content-type'] = 'application/json';
  const url = `${t.url.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers,
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (e) {
    const c = (e as { cause?: { code?: string; message?: string } }).cause;
    const cause = c?.code ?? c?.message;
    throw new Error(
      `cannot reach flowgate at ${t.url}${cause === undefined ? '' : ` (${cause})`}: is it running, and is --url right?`,
    );
  }
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // /metrics and errors from a proxy in between are not JSON
  }
  return { status: res.status, body };
}

export function qs(params: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}
