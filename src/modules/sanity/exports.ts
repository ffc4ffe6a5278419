import type { ModuleExports } from '../contract.js';

/** Kamailio sanity: request checks with Kamailio's bit masks (docs/sanity.md). */
export const sanityExports: ModuleExports = {
  name: 'sanity',
  kind: 'flowgate',
  note: 'sanity checks (modules.sanity)',
  config: 'sanity',
  needs: ['replyStateless', 'logger'],
  functions: [
    {
      name: 'sanity_check',
      args: ['int', 'int'],
      optional: 2,
      routes: ['request', 'failure', 'branch-failure'],
      returns: {
        1: 'the request passed',
        0: 'it failed and was answered (autodrop: the script ends)',
        [-1]: 'it failed and was answered (autodrop 0)',
      },
      doc: 'Checks the request (message checks, URI checks; default 1511, 7); a failure is answered.',
    },
  ],
  params: [
    {
      name: 'autodrop',
      type: 'flag',
      default: true,
      doc: 'A failed check ends the script (1) or returns -1 (0).',
    },
  ],
};
