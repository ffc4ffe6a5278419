// The CLI's pino logger: its level changes at run time for the process or for one element's lines
// (`flowgate ctl loglevel`), written to a real log file.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { createCliLogger } from '../../../src/cli/logger.js';
import { WAIT_MS, waitFor } from '../../support/net.js';

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-logger-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function lines(file: string): { msg: string; element?: string; level: number }[] {
  return read(file)
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as { msg: string; element?: string; level: number });
}

describe('createCliLogger: run-time level', () => {
  test('one element to debug: its lines (and its children created before) only; the process back to info: all', async () => {
    const file = join(DIR, 'a.log');
    const cli = createCliLogger({ level: 'info', pretty: false, file });
    const root = cli.logger;
    const edge = root.child({ element: 'edge' });
    const edgeTransport = edge.child({ layer: 'transport' });
    const registrar = root.child({ element: 'registrar' });
    const store = root.child({ component: 'location', element: 'registrar' });
    assert.equal(cli.level(), 'info');
    assert.equal(cli.level('edge'), 'info');

    cli.setLevel('debug', 'edge');
    assert.equal(cli.level(), 'info');
    assert.equal(cli.level('edge'), 'debug');
    assert.equal(cli.level('registrar'), 'info');
    edge.debug('edge debug');
    edgeTransport.debug('edge transport debug');
    registrar.debug('registrar debug');
    store.debug('store debug');
    root.debug('root debug');
    // a logger made after the change follows its element
    edge.child({ layer: 'late' }).debug('late child debug');

    cli.setLevel('warn');
    assert.equal(cli.level('edge'), 'warn');
    edge.info('edge info after warn');
    registrar.warn('registrar warn');
    cli.setLevel('debug', 'registrar');
    store.debug('store debug 2');
    cli.flush();
    // a log file is opened asynchronously: wait for the last line
    await waitFor(() => read(file).includes('store debug 2'), WAIT_MS, 'the log file');

    assert.deepEqual(
      lines(file).map((l) => l.msg),
      ['edge debug', 'edge transport debug', 'late child debug', 'registrar warn', 'store debug 2'],
    );
  });

  test('an element nothing has logged for yet reports the process level', async () => {
    const file = join(DIR, 'b.log');
    const cli = createCliLogger({ level: 'error', pretty: false, file });
    assert.equal(cli.level('nobody'), 'error');
    cli.setLevel('debug', 'nobody');
    assert.equal(cli.level(), 'error');
    cli.logger.error('done');
    await waitFor(() => read(file).includes('done'), WAIT_MS, 'the log file');
  });
});
