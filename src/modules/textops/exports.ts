import type { ModuleExports } from '../contract.js';

const OK = { 1: 'done', [-1]: 'not done' } as const;

/** Kamailio textops: header functions. */
export const textopsExports: ModuleExports = {
  name: 'textops',
  kind: 'builtin',
  note: 'header functions',
  needs: [],
  functions: [
    {
      name: 'is_method',
      args: ['static'],
      returns: { 1: 'the method is one of the list (a|b|c)', [-1]: 'it is not' },
      doc: 'Tests the method (the CSeq method of a reply).',
    },
    {
      name: 'remove_hf',
      args: ['static'],
      returns: { 1: 'removed', [-1]: 'no such header' },
      doc: 'Removes every header field of the name.',
    },
    {
      name: 'insert_hf',
      args: ['fmt', 'static'],
      optional: 1,
      formats: [0],
      returns: OK,
      doc: 'Inserts a header field first (or before the named header).',
    },
    { name: 'append_hf', args: ['fmt'], formats: [0], returns: OK, doc: 'Appends a header field.' },
  ],
  params: [],
};

/** Kamailio siputils (has_totag). */
export const siputilsExports: ModuleExports = {
  name: 'siputils',
  kind: 'builtin',
  note: 'has_totag',
  needs: [],
  functions: [
    {
      name: 'has_totag',
      args: [],
      returns: { 1: 'the To header has a tag', [-1]: 'it has none' },
      doc: 'Whether the request is in-dialog (To tag).',
    },
  ],
  params: [],
};
