import type { ModuleExports } from '../contract.js';
import { MaxFwdRc } from './index.js';

/** Kamailio maxfwd: Max-Forwards processing (RFC 3261 §16.3 step 3, §16.6 step 3). */
export const maxfwdExports: ModuleExports = {
  name: 'maxfwd',
  kind: 'builtin',
  note: 'Max-Forwards (max_limit applies to mf_process_maxfwd_header)',
  needs: [],
  functions: [
    {
      name: 'mf_process_maxfwd_header',
      args: ['int'],
      routes: ['request', 'failure', 'branch-failure'],
      returns: {
        [MaxFwdRc.Added]: 'the header was missing and was added',
        [MaxFwdRc.Decremented]: 'decremented',
        [MaxFwdRc.Zero]: 'it is 0: answer 483',
        [MaxFwdRc.Error]: 'an unparsable value',
      },
      doc: 'Adds Max-Forwards: limit when missing, fails at 0, else decrements it.',
    },
  ],
  params: [
    {
      name: 'max_limit',
      type: 'int',
      default: 70,
      doc: 'Values above it count as max_limit + 1.',
      to: { special: 'maxfwd.max_limit' },
    },
  ],
};
