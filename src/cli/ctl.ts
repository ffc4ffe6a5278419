import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MANAGEMENT_TOKEN_FILE } from './instance.js';
import { duration, table } from './table.js';

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

/** Result of a ctl command: what to print and the exit code. */
export interface CtlOutput {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number;
}

/** Arguments of `flowgate ctl`. */
export interface CtlArgs {
  readonly command: string;
  readonly args: readonly string[];
  readonly json: boolean;
  readonly element: string | undefined;
  readonly limit: string | undefined;
  readonly cursor: string | undefined;
  readonly transport: string | undefined;
}

/** The ctl commands and what they take. */
export const CTL_USAGE = `Commands:
  health                       is it up (exit 0) or stopping / unreachable (exit 1)
  elements                     the elements, their scripts, modules and listeners
  bindings [aor] [--limit n] [--cursor c]
                               registered contacts: of one AoR (sip:alice@example.com or alice), or all, paged
  unbind <aor> [ruid]          remove the bindings of an AoR, or one binding
  flows [--transport t]        live flows: transport, local, peer, age, last keep-alive
  stats                        counters per element
Options:
  --url URL        management API (default http://127.0.0.1:8081, or management.listen of -c file)
  --token T        bearer token (default: $FLOWGATE_TOKEN, else management.token of -c file, else
                   the token flowgate start generated: <data dir>/management.token)
  -c, --config F   read the URL, the token and the data directory from this configuration file
  --data-dir DIR   the server's data directory, as given to flowgate start (default: data_dir of
                   -c file, or ./.data); its management.token is read when no token is given
  --element NAME   only this element
  --json           print the API's JSON instead of a table`;

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

async function call(t: CtlTarget, method: string, path: string): Promise<Reply> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (t.token !== undefined) headers['authorization'] = `Bearer ${t.token}`;
  const url = `${t.url.replace(/\/+$/, '')}${path}`;
  let res: Response;
  try {
    res = await fetch(url, { method, headers, signal: AbortSignal.timeout(10_000) });
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

function qs(params: Record<string, string | undefined>): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) p.set(k, v);
  const s = p.toString();
  return s === '' ? '' : `?${s}`;
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));

function render(command: string, body: unknown): string {
  const b = obj(body);
  switch (command) {
    case 'health':
      return `${str(b['status'])} (up ${duration(Number(b['uptime'] ?? 0))}; elements: ${Array.isArray(b['elements']) ? (b['elements'] as unknown[]).join(', ') : '-'})`;
    case 'elements':
      return table(
        ['ELEMENT', 'SCRIPT', 'LISTEN', 'MODULES'],
        arr(b['elements']).map((e) => [
          str(e['name']),
          str(e['script']),
          arr(e['listen'])
            .map(
              (l) =>
                `${str(l['transport'])}:${String(l['address']).includes(':') ? `[${str(l['address'])}]` : str(l['address'])}:${str(l['port'])}`,
            )
            .join(' '),
          Array.isArray(e['modules']) ? (e['modules'] as unknown[]).join(',') : '',
        ]),
      );
    case 'bindings': {
      const rows = arr(b['bindings']).map((x) => [
        str(x['aor']),
        duration(Number(x['expires_in'] ?? 0)),
        str(x['contact']),
        x['reg_id'] === 0 ? '-' : str(x['reg_id']),
        str(x['instance']),
        str(x['ruid']),
      ]);
      const t =
        rows.length === 0
          ? 'no bindings'
          : table(['AOR', 'EXPIRES', 'CONTACT', 'REG-ID', 'INSTANCE', 'RUID'], rows);
      const next = b['next'];
      return typeof next === 'string' ? `${t}\nmore: --cursor ${next}` : t;
    }
    case 'unbind':
      return `removed ${str(b['removed'])} binding(s)`;
    case 'flows': {
      const rows = arr(b['flows']).map((f) => [
        str(f['element']),
        str(f['transport']),
        str(f['local']),
        str(f['peer']),
        duration(Number(f['age'] ?? 0)),
        f['last_keepalive'] === null ? '-' : `${duration(Number(f['last_keepalive']))} ago`,
        str(f['state']),
        str(f['id']),
      ]);
      return rows.length === 0
        ? 'no flows'
        : table(['ELEMENT', 'TRANSPORT', 'LOCAL', 'PEER', 'AGE', 'KEEPALIVE', 'STATE', 'ID'], rows);
    }
    case 'stats': {
      const lines = [`uptime ${duration(Number(b['uptime'] ?? 0))}, version ${str(b['version'])}`];
      for (const [name, v] of Object.entries(obj(b['elements']))) {
        const e = obj(v);
        const kv = (o: unknown): string => {
          const entries = Object.entries(obj(o));
          return entries.length === 0 ? '-' : entries.map(([k, n]) => `${k}=${str(n)}`).join(' ');
        };
        const tx = obj(e['transactions']);
        const tr = obj(e['transport']);
        const drops = Object.entries(obj(tr['drops'])).filter(([, n]) => Number(n) > 0);
        lines.push(
          `${name}:`,
          table(
            ['', ''],
            [
              ['requests', kv(e['requests'])],
              ['replies', kv(e['replies'])],
              ['transactions', `server=${str(tx['server'])} client=${str(tx['client'])}`],
              ['flows', kv(e['flows'])],
              ['bindings', str(e['bindings'])],
              ['keepalives', kv(tr['keepalives'])],
              ['430 sent', str(e['flow_failed_430'])],
              ['token failures', str(e['flow_token_failures'])],
              [
                'dropped',
                drops.length === 0 ? '0' : drops.map(([k, n]) => `${k}=${str(n)}`).join(' '),
              ],
              ['script errors', str(e['script_errors'])],
            ],
          )
            .split('\n')
            .slice(1)
            .map((l) => `  ${l}`)
            .join('\n'),
        );
      }
      return lines.join('\n');
    }
    default:
      return JSON.stringify(body, null, 2);
  }
}

/** Runs one ctl command against a running instance. */
export async function runCtl(t: CtlTarget, a: CtlArgs): Promise<CtlOutput> {
  const fail = (m: string, code = 1): CtlOutput => ({
    stdout: '',
    stderr: `flowgate ctl: ${m}\n`,
    code,
  });
  let method = 'GET';
  let path: string;
  const element = a.element;
  switch (a.command) {
    case 'health':
      path = '/health';
      break;
    case 'elements':
      path = '/v1/elements';
      break;
    case 'bindings':
      if (a.args.length > 1) return fail('bindings takes at most one AoR', 2);
      path = `/v1/bindings${qs({ aor: a.args[0], limit: a.limit, cursor: a.cursor, element })}`;
      break;
    case 'unbind': {
      const [aor, ruid] = a.args;
      if (aor === undefined || a.args.length > 2)
        return fail('usage: flowgate ctl unbind <aor> [ruid]', 2);
      method = 'DELETE';
      path = `/v1/bindings/${encodeURIComponent(aor)}${ruid === undefined ? '' : `/${encodeURIComponent(ruid)}`}${qs({ element })}`;
      break;
    }
    case 'flows':
      path = `/v1/flows${qs({ transport: a.transport, element })}`;
      break;
    case 'stats':
      path = '/v1/stats';
      break;
    default:
      return fail(`unknown command '${a.command}'\n${CTL_USAGE}`, 2);
  }
  let r: Reply;
  try {
    r = await call(t, method, path);
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  const body = obj(r.body);
  if (r.status >= 400 && !(a.command === 'health' && r.status === 503)) {
    let msg = typeof body['message'] === 'string' ? body['message'] : `HTTP ${r.status}`;
    if (r.status === 401 && t.token === undefined && t.tokenHint !== undefined)
      msg += ` (${t.tokenHint})`;
    return a.json
      ? { stdout: `${JSON.stringify(r.body, null, 2)}\n`, stderr: '', code: 1 }
      : fail(msg);
  }
  const code = a.command === 'health' && r.status !== 200 ? 1 : 0;
  if (a.json) return { stdout: `${JSON.stringify(r.body, null, 2)}\n`, stderr: '', code };
  return { stdout: `${render(a.command, r.body)}\n`, stderr: '', code };
}
