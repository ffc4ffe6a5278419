// The end-to-end suite (chain.case.ts) against real Kamailio running the peer's edge.cfg and
// registrar.cfg (kamailio.sh start both): the edge on 127.64.0.1:5060 relaying to the registrar on
// 127.64.0.2:5060; the UA in 127.64.<n>.0/24 (test/support/seed-forms.ts); the location table is
// emptied between tests. Skipped when Kamailio is not installed.
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { kamailioSkip, startKamailio, stopAllPeers } from '../../interop/peers.js';
import { emptyLocation, KamailioNet } from '../../support/seed-forms.js';
import { CHAIN_UA, runChainSuite } from './chain.case.js';

const E = '127.64.0.1';
const R = '127.64.0.2';

describe('edge + registrar end to end against Kamailio', {
  skip: kamailioSkip(),
  timeout: 300_000,
}, () => {
  let net: KamailioNet | undefined;

  before(async () => {
    const k = await startKamailio('both', {
      edgeIp: E,
      edgePort: 5060,
      wsPort: 8080,
      regIp: R,
      regPort: 5060,
    });
    const runDir = join(k.stateDir, 'registrar.run');
    net = new KamailioNet({
      block: '127.64',
      fixed: new Map([
        ['127.0.0.1', E],
        ['127.0.0.2', R],
      ]),
      listeners: [
        {
          fake: { id: 0, proto: 'udp', address: '127.0.0.1', port: 5060 },
          real: { address: E, port: 5060 },
        },
        {
          fake: { id: 1, proto: 'tcp', address: '127.0.0.1', port: 5060 },
          real: { address: E, port: 5060 },
        },
      ],
      perTest: [CHAIN_UA],
      reset: () => emptyLocation(runDir),
    });
    await net.open();
  });

  after(async () => {
    await net?.close();
    await stopAllPeers();
  });

  runChainSuite({
    form: 'kamailio',
    async chain() {
      if (net === undefined) throw new Error('Kamailio did not start');
      return net.wire();
    },
  });
});
