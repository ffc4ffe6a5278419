// The edit distance and the typo match are the .cfg interpreter's (one implementation for every
// "did you mean" hint).
import { nearest } from '../script/cfg/names.js';

export { editDistance } from '../script/cfg/names.js';

/** The closest candidate, when it is close enough to be a typo (or differs only in `-`/`_`/case). */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  return nearest(word, candidates);
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
