/** Edit distance with transpositions (optimal string alignment; small strings: config keys). */
export function editDistance(a: string, b: string): number {
  const m = a.length;
  const n = b.length;
  let prev2: number[] = [];
  let prev = Array.from({ length: n + 1 }, (_, j) => j);
  for (let i = 1; i <= m; i++) {
    const cur = [i];
    for (let j = 1; j <= n; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, (prev2[j - 2] ?? 0) + 1);
      cur[j] = v;
    }
    prev2 = prev;
    prev = cur;
  }
  return prev[n] ?? 0;
}

/** The closest candidate, when it is close enough to be a typo (or differs only in `-`/`_`/case). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[-_]/g, '');
  let best: string | undefined;
  let bestD = Number.POSITIVE_INFINITY;
  for (const c of candidates) {
    if (norm(c) === norm(word)) return c;
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  return bestD <= limit ? best : undefined;
}

/**
 * Kamailio names that have no key of their own in flowgate, with where the setting lives instead
 * (so that porting a kamailio.cfg line by line gets a useful answer).
 */
const KAMAILIO_HINTS: Readonly<Record<string, string>> = {
  debug: 'use log.level (debug=2 is info, 3 is debug)',
  log_stderror: 'flowgate logs to stdout, or to log.file',
  log_facility:
    'flowgate logs JSON lines to stdout or log.file; send them to syslog with your service manager',
  fork: 'flowgate runs one process per element; there is nothing to set',
  mpath: 'modules are built in; nothing to set',
  loadmodule: 'a module is loaded by its key under modules (e.g. modules: { outbound: {} })',
  modparam: 'module parameters go under modules.<module>.<param>',
  listen: 'listen is a list per element: elements.<name>.listen',
  port: 'put the port in each listen entry, e.g. udp:127.0.0.1:5060',
  tcp_max_connections: 'use modules.limits.max_connections',
  db_mode: 'use modules.usrloc.backend (memory | sqlite | redis)',
  db_url: 'use modules.usrloc.url (redis) or modules.usrloc.path (sqlite)',
};

/** A hint for a key that is a Kamailio name flowgate places elsewhere. */
export function kamailioHint(key: string): string | undefined {
  return KAMAILIO_HINTS[key];
}
