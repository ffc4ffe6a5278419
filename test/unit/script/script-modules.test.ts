import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { scriptModuleNotes } from '../../../src/config/check.js';
import { parseConfig } from '../../../src/config/load.js';

// flowgate check reads the module registry for script files too: a call of a function whose
// module the element does not load is noted (it would fail at run time: "… is not loaded").

const DIR = mkdtempSync(join(tmpdir(), 'flowgate-script-modules-'));
after(() => rmSync(DIR, { recursive: true, force: true }));

test('a script calling functions of modules its element does not load gets a note per function', async () => {
  writeFileSync(
    join(DIR, 'route.mjs'),
    [
      'export default {',
      '  async request_route(ctx) {',
      '    if (!ctx.mf_process_maxfwd_header(10)) return;',
      '    ctx.record_route();',
      '    await ctx.save("location");',
      '    await ctx.www_authorize("example.com", "subscriber");',
      '    await ctx.save("location");',
      '    ctx.t_relay();',
      '  },',
      '};',
      '',
    ].join('\n'),
  );
  const config = parseConfig(
    [
      'elements:',
      '  mine:',
      '    script: ./route.mjs',
      '    listen: [udp:127.0.0.1:5090]',
      '  other:',
      '    script: ./route.mjs',
      '    listen: [udp:127.0.0.1:5092]',
      '    modules: { registrar: {}, auth: {} }',
      '',
    ].join('\n'),
    'flowgate.yaml',
    { cwd: DIR },
  );
  assert.deepEqual(await scriptModuleNotes(config, ['mine', 'other']), [
    './route.mjs:5: mine: ctx.save() needs the registrar module, which this element does not load (modules.registrar: {})',
    './route.mjs:6: mine: ctx.www_authorize() needs the auth module, which this element does not load (modules.auth: {})',
  ]);
});
