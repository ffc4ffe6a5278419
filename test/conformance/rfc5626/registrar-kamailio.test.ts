// The registrar conformance suite (registrar.case.ts) against real Kamailio running the same
// registrar.cfg (../shared/kamailio/kamailio.sh), over loopback sockets: the third form of issue 11.
// The registrar listens on 127.63.0.1:5060; each test's peers (the edge, UAs, the caller) live in
// 127.63.<n>.0/24 (test/support/seed-forms.ts), and the location table is emptied between tests
// (kamcmd ul.rm). Skipped when Kamailio is not installed.
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { kamailioSkip, startKamailio, stopAllPeers } from '../../interop/peers.js';
import { emptyLocation, KamailioNet } from '../../support/seed-forms.js';
import {
  REGISTRAR_TEST_SOCKETS,
  type RegistrarUnderTest,
  runRegistrarSuite,
} from './registrar.case.js';

const REG = '127.63.0.1';

describe('registrar conformance against Kamailio', {
  skip: kamailioSkip(),
  timeout: 600_000,
}, () => {
  let net: KamailioNet | undefined;

  before(async () => {
    const k = await startKamailio('registrar', { regIp: REG, regPort: 5060 });
    const runDir = join(k.stateDir, 'registrar.run');
    net = new KamailioNet({
      block: '127.63',
      fixed: new Map([['127.0.0.1', REG]]),
      listeners: [
        {
          fake: { id: 0, proto: 'udp', address: '127.0.0.1', port: 5060 },
          real: { address: REG, port: 5060 },
        },
        {
          fake: { id: 1, proto: 'tcp', address: '127.0.0.1', port: 5060 },
          real: { address: REG, port: 5060 },
        },
      ],
      perTest: REGISTRAR_TEST_SOCKETS,
      reset: () => emptyLocation(runDir),
    });
    await net.open();
  });

  after(async () => {
    await net?.close();
    await stopAllPeers();
  });

  const inProcessOnly = (what: string) => (): never => {
    throw new Error(`${what} is not on the wire: this test is not for the Kamailio form`);
  };

  runRegistrarSuite({
    form: 'kamailio',
    async registrar(params, opts = {}): Promise<RegistrarUnderTest> {
      if (
        params !== undefined &&
        JSON.stringify(params) !==
          JSON.stringify({ use_path: 1, gruu_enabled: 1, outbound_mode: 1 })
      )
        throw new Error("the running Kamailio has the file's registrar parameters only");
      if (opts.script !== undefined) throw new Error('the running Kamailio runs the file only');
      if (net === undefined) throw new Error('Kamailio did not start');
      const h = await net.wire();
      return {
        h,
        get store(): never {
          return inProcessOnly('the location store')();
        },
        get clock(): never {
          return inProcessOnly('the manual clock')();
        },
        close: async () => {},
      };
    },
  });
});
