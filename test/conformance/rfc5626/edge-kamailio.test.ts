// The edge conformance suite (edge.case.ts) against real Kamailio running the same edge.cfg
// (../shared/kamailio/kamailio.sh), over loopback sockets: the third form of issue 11. The edge
// listens on 127.62.0.1:5060 (WebSocket 8080) and relays to this test's registrar socket at
// 127.62.0.2:5060; each test's other peers live in 127.62.<n>.0/24 (test/support/seed-forms.ts).
// Skipped when Kamailio is not installed.
import { after, before, describe } from 'node:test';
import { kamailioSkip, startKamailio, stopAllPeers } from '../../interop/peers.js';
import { type EdgeOptions, KamailioNet, type Wire } from '../../support/seed-forms.js';
import { EDGE_TEST_SOCKETS, runEdgeSuite } from './edge.case.js';

const E = '127.62.0.1';
const R = '127.62.0.2';

describe('edge conformance against Kamailio', { skip: kamailioSkip(), timeout: 600_000 }, () => {
  let net: KamailioNet | undefined;

  before(async () => {
    const k = await startKamailio('edge', {
      edgeIp: E,
      edgePort: 5060,
      wsPort: 8080,
      regIp: R,
      regPort: 5060,
    });
    net = new KamailioNet({
      block: '127.62',
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
        {
          fake: { id: 2, proto: 'ws', address: '127.0.0.1', port: 8080 },
          real: { address: E, port: 8080 },
        },
      ],
      peers: ['127.0.0.2:5060'],
      perTest: EDGE_TEST_SOCKETS,
      log: () => k.log('edge'),
    });
    await net.open();
  });

  after(async () => {
    await net?.close();
    await stopAllPeers();
  });

  runEdgeSuite({
    form: 'kamailio',
    key: undefined,
    async edge(o: EdgeOptions = {}): Promise<Wire> {
      const unsupported = (['registrar', 'listeners', 'ob', 'script'] as const).filter(
        (k) => o[k] !== undefined,
      );
      if (unsupported.length > 0)
        throw new Error(
          `the running Kamailio has the file's settings only: ${unsupported.join(', ')}`,
        );
      if (net === undefined) throw new Error('Kamailio did not start');
      return net.wire();
    },
  });
});
