import { duration, table } from './table.js';

// What a ctl command prints from the API's JSON: a table or a line per command.

export type Json = Record<string, unknown>;
export const obj = (v: unknown): Json => (typeof v === 'object' && v !== null ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? v.map(obj) : []);
const str = (v: unknown): string => (v === null || v === undefined ? '-' : String(v));

/** Widest PATH the bindings table shows. */
const PATH_WIDTH = 48;

/**
 * A binding's Path for the table: each entry's user part (the edge's flow token) cut to its first
 * six characters, the whole at most {@link PATH_WIDTH} characters; `…` marks every cut.
 */
export function shortPath(path: readonly string[], width = PATH_WIDTH): string {
  if (path.length === 0) return '-';
  const s = path
    .map((p) =>
      p.replace(
        /^(<?sips?:)([^@>;]{9,})@/i,
        (_m, a: string, u: string) => `${a}${u.slice(0, 6)}…@`,
      ),
    )
    .join(',');
  return s.length <= width ? s : `${s.slice(0, width - 1)}…`;
}

export function render(command: string, body: unknown): string {
  const b = obj(body);
  switch (command) {
    case 'reload-tls':
      return arr(b['elements'])
        .map(
          (e) =>
            `${str(e['element'])}: reloaded ${str(e['subject'])}, valid until ${str(e['valid_to'])}, sha256 ${str(e['fingerprint256'])}`,
        )
        .join('\n');
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
        shortPath(Array.isArray(x['path']) ? x['path'].map(String) : []),
        x['reg_id'] === 0 ? '-' : str(x['reg_id']),
        str(x['instance']),
        str(x['ruid']),
      ]);
      const t =
        rows.length === 0
          ? 'no bindings'
          : table(['AOR', 'EXPIRES', 'CONTACT', 'PATH', 'REG-ID', 'INSTANCE', 'RUID'], rows);
      const next = b['next'];
      return typeof next === 'string' ? `${t}\nmore: --cursor ${next}` : t;
    }
    case 'unbind':
      return `removed ${str(b['removed'])} binding(s)`;
    case 'capture': {
      const rows = arr(b['elements']).map((e) =>
        e['loaded'] !== true
          ? [str(e['element']), 'not loaded', '-', '-', '-', '-', '-']
          : [
              str(e['element']),
              e['enabled'] === true ? 'on' : 'off',
              str(e['collector']),
              str(e['hep_capture_id']),
              str(e['sent']),
              str(e['dropped']),
              e['error'] != null ? str(e['error']) : e['connected'] === true ? 'yes' : 'no',
            ],
      );
      return table(['ELEMENT', 'CAPTURE', 'COLLECTOR', 'ID', 'SENT', 'DROPPED', 'CONNECTED'], rows);
    }
    case 'close-flow': {
      const f = obj(b['closed']);
      return `closed flow ${str(f['id'])} (${str(f['element'])}, ${str(f['transport'])} from ${str(f['peer'])} to ${str(f['local'])})`;
    }
    case 'loglevel': {
      const els = Object.entries(obj(b['elements']));
      const head = `process: ${str(b['level'])}`;
      return els.length === 0
        ? head
        : `${head}\n${table(
            ['ELEMENT', 'LEVEL'],
            els.map(([n, l]) => [n, str(l)]),
          )}`;
    }
    case 'registrars': {
      const rows = arr(b['registrars']).map((r) => [
        str(r['element']),
        str(r['uri']),
        str(r['state']),
        duration(Number(r['for_s'] ?? 0)),
        r['last_probe'] === null ? '-' : str(r['last_probe']),
        str(r['last_result']),
        str(r['failures']),
        str(r['failovers']),
      ]);
      return rows.length === 0
        ? 'no registrar sets (only an edge has one)'
        : table(
            [
              'ELEMENT',
              'REGISTRAR',
              'STATE',
              'FOR',
              'LAST PROBE',
              'RESULT',
              'FAILURES',
              'FAILOVERS',
            ],
            rows,
          );
    }
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
