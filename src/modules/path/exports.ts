import type { ModuleExports } from '../contract.js';
import type { Outbound } from '../outbound/index.js';
import { PathModule } from './index.js';

const REQ = ['request', 'failure', 'branch-failure'] as const;

/** Kamailio path: Path headers on REGISTER (RFC 3327), with RFC 5626 flow tokens. */
export const pathExports: ModuleExports = {
  name: 'path',
  kind: 'flowgate',
  note: 'Path headers (modules.path)',
  config: 'path',
  instance: 'path',
  needs: [],
  functions: [
    {
      name: 'add_path',
      args: ['fmt', 'fmt'],
      optional: 2,
      routes: REQ,
      returns: { 1: 'Path added (written per branch)' },
      doc: 'Adds `Path: <sip:[token@]host;lr[;ob]>` for the socket the REGISTER leaves from.',
    },
    {
      name: 'add_path_received',
      args: ['fmt', 'fmt'],
      optional: 2,
      routes: REQ,
      returns: { 1: 'Path added (written per branch)' },
      doc: 'As add_path, with `;received=<source URI>`.',
    },
  ],
  params: [],
  depends: ['outbound'],
  // loaded by default when outbound is (its flow tokens go into Path)
  create: (ctx) => {
    const outbound = ctx.dep<Outbound>('outbound');
    const on = (ctx.params as boolean | undefined) ?? outbound !== undefined;
    return on ? { instance: new PathModule(outbound) } : undefined;
  },
};
