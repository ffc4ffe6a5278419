// The end-to-end suite (chain.case.ts) in-process: the built-in edge and registrar scripts, and the
// Kamailio test peer's edge.cfg and registrar.cfg compiled by flowgate (issue 11; Kamailio itself:
// chain-kamailio.test.ts).
import { after } from 'node:test';
import { inProcessChain } from '../../support/seed-forms.js';
import { runChainSuite } from './chain.case.js';

const open: { close(): Promise<void> }[] = [];
after(async () => {
  for (const c of open.splice(0)) await c.close();
});

for (const form of ['ts', 'cfg'] as const)
  runChainSuite({
    form,
    async chain() {
      const c = await inProcessChain(form);
      open.push(c);
      return c.wire;
    },
  });
