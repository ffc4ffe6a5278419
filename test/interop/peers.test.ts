// The peer harness itself (issue 11, "no process outlives the suite"): a Kamailio stop issued while
// its start is still running waits for the start, so nothing the start forks survives the stop.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { kamailioProcessesIn, kamailioSkip, startKamailio, stopAllPeers } from './peers.js';

describe('peer harness', { skip: kamailioSkip(), timeout: 120_000 }, () => {
  test('stopAllPeers() while kamailio.sh start is still running: the stop waits for the start, and no Kamailio of that instance runs afterwards', async () => {
    const starting = startKamailio('edge', { edgeIp: '127.66.0.1', regIp: '127.66.0.2' });
    // the start is under way (config check, fork, waiting for the sockets) when the stop comes
    await sleep(20);
    await stopAllPeers();
    const peer = await starting;
    assert.deepEqual(kamailioProcessesIn(peer.stateDir), [], 'no Kamailio of this instance runs');
    // and a stop again is the same stop
    await peer.stop();
  });

  test('a started Kamailio is stopped with all its children', async () => {
    const peer = await startKamailio('registrar', { regIp: '127.66.0.3' });
    assert.ok(kamailioProcessesIn(peer.stateDir).length >= 2, 'main process and children run');
    await peer.stop();
    assert.deepEqual(kamailioProcessesIn(peer.stateDir), []);
  });
});
