import type { ModuleExports } from '../contract.js';
import type { LocationStore } from './binding.js';

/** Kamailio usrloc: the location store the registrar keeps bindings in. */
export const usrlocExports: ModuleExports = {
  name: 'usrloc',
  kind: 'mapped',
  note: 'the location store (modules.usrloc)',
  config: 'usrloc',
  needs: [],
  functions: [],
  params: [
    {
      name: 'db_mode',
      type: 'int',
      doc: 'Kamailio db_mode: 0 keeps bindings in memory, else in the store of db_url.',
      to: { special: 'usrloc.db_mode' },
    },
    {
      name: 'db_url',
      type: 'string',
      doc: 'Where bindings live (sqlite path or redis URL).',
      to: { special: 'usrloc.db_url' },
    },
    {
      name: 'timer_interval',
      type: 'int',
      default: 60,
      unit: 'seconds',
      doc: 'How often expired bindings are purged.',
    },
    {
      name: 'use_domain',
      type: 'flag',
      default: false,
      doc: 'The AoR includes the domain (user@host).',
    },
    {
      name: 'cseq_delay',
      type: 'int',
      default: 20,
      unit: 'seconds',
      doc: 'An equal CSeq within this time is a retransmission (answered 200).',
    },
    {
      name: 'backend',
      type: 'string',
      default: 'sqlite',
      doc: 'Where bindings live: memory, sqlite or redis.',
      yamlOnly: true,
    },
    {
      name: 'path',
      type: 'string',
      default: 'location.db',
      doc: 'SQLite file, relative to data_dir.',
      yamlOnly: true,
    },
    {
      name: 'synchronous',
      type: 'string',
      default: 'NORMAL',
      doc: 'SQLite synchronous pragma (FULL survives power loss).',
      yamlOnly: true,
    },
    {
      name: 'url',
      type: 'string',
      doc: 'Redis URL (backend redis); see docs/redis.md.',
      yamlOnly: true,
    },
    {
      name: 'prefix',
      type: 'string',
      default: null,
      doc: 'Redis key prefix (the hash tag in a Redis Cluster).',
      yamlOnly: true,
    },
  ],
  options: 'location',
  // the store is built by the configuration (or a test); the element closes it
  create: (ctx) => {
    const store = ctx.params as LocationStore | undefined;
    return store === undefined ? undefined : { instance: undefined, close: () => store.close() };
  },
};
