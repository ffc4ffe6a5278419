// Issue 13 §2, "proven in real Chromium": the live web console, served by flowgate's management
// API, driven in Debian's Chromium through playwright-core. flowgate runs in process (an edge and a
// registrar on free loopback ports); the page logs in with data_dir/management.token; a UA
// registered with sipp appears within a second, pushed (no reload); its flow is closed from the page
// and disappears; a binding is removed from the page and the UA's next call fails (404). Each view is
// photographed: into FLOWGATE_CONSOLE_SCREENSHOTS (e.g. `docs`, for docs/console.md), else into the
// test's temporary directory. The page makes no WebRTC, so no network namespace is needed; the test
// checks that it loads nothing from anywhere but flowgate.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console.js';
import { type Instance, MANAGEMENT_TOKEN_FILE, startInstance } from '../../src/cli/instance.js';
import { parseConfig } from '../../src/config/load.js';
import type { LocationStore } from '../../src/modules/location/binding.js';
import { noopLogger } from '../../src/util/logger.js';
import { ROOT } from '../integration/cli/helpers.js';
import { TestCaller, TestUa } from '../support/ua.js';
import { type SippProcess, sippSkip, startSipp, stopAllPeers } from './peers.js';

const CHROMIUM = '/usr/bin/chromium';

function skipReason(): string | false {
  if (!existsSync(CHROMIUM))
    return `Debian chromium (${CHROMIUM}) missing: web console test skipped (scripts/test-all.sh installs it)`;
  return sippSkip();
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls an async condition (Playwright's own waiting would evaluate strings, which the CSP forbids). */
async function waitFor(
  cond: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const wanted = process.env['FLOWGATE_CONSOLE_SCREENSHOTS'];
/** Screenshots for docs/console.md (FLOWGATE_CONSOLE_SCREENSHOTS=docs), not the test's temp dir. */
const documenting = wanted !== undefined && wanted !== '';

describe('web console in Chromium (issue 13 §2)', { skip: skipReason(), timeout: 180_000 }, () => {
  let dir: string;
  let shots: string;
  let inst: Instance;
  let origin: string;
  let edgeTcp = 0;
  let edgeUdp = 0;
  let regPort = 0;
  let location: LocationStore;
  let context: BrowserContext;
  let page: Page;
  let alice: SippProcess | undefined;
  const requested: string[] = [];
  const pageErrors: string[] = [];
  const closers: (() => unknown)[] = [];

  const shoot = async (name: string): Promise<void> => {
    // no hover or focus highlight in the picture
    await page.mouse.move(0, 0);
    await page.evaluate(() =>
      (
        globalThis as unknown as { document: { activeElement: { blur?(): void } | null } }
      ).document.activeElement?.blur?.(),
    );
    await page.screenshot({
      path: join(shots, `console-${name}.png`),
      fullPage: true,
      animations: 'disabled',
    });
  };
  const tab = async (name: string): Promise<void> => {
    await page.click(`button[data-tab="${name}"]`);
    await page.waitForSelector(`main[data-view="${name}"]`);
  };
  /** Confirms the dialog the last click opened. */
  const confirm = async (): Promise<void> => {
    await page.waitForSelector('dialog[open] button[data-confirm="yes"]');
    await page.click('dialog[open] button[data-confirm="yes"]');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'fg-console-chromium-'));
    shots = documenting ? resolve(ROOT, wanted ?? '') : join(dir, 'shots');
    mkdirSync(shots, { recursive: true });
    // the page as `npm run build` makes it, where flowgate serves it from
    await buildConsole();
    const config = parseConfig(
      `
data_dir: ${join(dir, 'data')}
log: { level: silent }
management: { listen: 127.0.0.1:0 }
elements:
  edge:
    listen: [udp:127.0.0.1:0, tcp:127.0.0.1:0]
  registrar:
    listen: [udp:127.0.0.1:0]
    modules: { usrloc: { backend: memory } }
`,
      join(dir, 'flowgate.yaml'),
    );
    inst = await startInstance(config, { logger: noopLogger, version: 'console-test' });
    origin = inst.management?.url ?? '';
    const edge = inst.elements.find((e) => e.config.name === 'edge');
    const reg = inst.elements.find((e) => e.config.name === 'registrar');
    edgeTcp = edge?.listeners.find((l) => l.proto === 'tcp')?.port ?? 0;
    edgeUdp = edge?.listeners.find((l) => l.proto === 'udp')?.port ?? 0;
    regPort = reg?.listeners[0]?.port ?? 0;
    location = reg?.location as LocationStore;

    context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
      executablePath: CHROMIUM,
      headless: true,
      timeout: 20_000,
      viewport: { width: 1280, height: 800 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    for (const c of closers) await c();
    await context?.close().catch(() => undefined);
    await stopAllPeers();
    await inst?.stop(0);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('the login form refuses a wrong token and accepts data_dir/management.token', async (t) => {
    await page.goto(`${origin}/`, { timeout: 10_000 });
    assert.equal(new URL(page.url()).pathname, '/console/', 'the API address leads to the console');
    await page.waitForSelector('form#login input[type="password"]');
    await shoot('login');
    await page.fill('form#login input[name="token"]', 'not-the-token-at-all');
    await page.click('form#login button[type="submit"]');
    await page.waitForSelector('text=This is not the management token.');
    const token = readFileSync(join(dir, 'data', MANAGEMENT_TOKEN_FILE), 'utf8').trim();
    await page.fill('form#login input[name="token"]', token);
    await page.click('form#login button[type="submit"]');
    await page.waitForSelector('[data-status="live"]', { timeout: 5000 });
    // a mark that a reload would wipe: every later update must arrive without one
    await page.evaluate(() => {
      (globalThis as unknown as Record<string, unknown>)['consoleTestMark'] = 42;
    });
    const cookies = await context.cookies();
    const c = cookies.find((x) => x.name === 'flowgate_console');
    assert.ok(c, 'the event stream has its session cookie');
    assert.equal(c.httpOnly, true);
    assert.equal(c.sameSite, 'Strict');
    assert.ok(!cookies.some((x) => x.value.includes(token)), 'the token is in no cookie');
    assert.ok(!requested.some((u) => u.includes(token)), 'the token is in no URL');
    t.diagnostic(`Chromium ${context.browser()?.version() ?? ''}, console at ${origin}/console/`);
  });

  test('a UA registered with sipp appears on the page within a second, pushed', async (t) => {
    await tab('bindings');
    let boundAt = 0;
    const watch = (async () => {
      while ((await location.get('alice')).length === 0) await sleep(5);
      boundAt = Date.now();
    })();
    alice = await startSipp('uac-register-outbound-hold.xml', {
      target: `127.0.0.1:${edgeTcp}`,
      transport: 't1',
      keys: { user: 'alice', instance: crypto.randomUUID(), expires: 600 },
      holdMs: 60_000,
      timeoutMs: 90_000,
    });
    // polled every 20 ms (Playwright's own wait backs off to 500 ms between looks)
    await waitFor(
      async () => (await page.locator('tr[data-aor="alice"]').count()) > 0,
      10_000,
      'alice on the page',
    );
    const shownAt = Date.now();
    await watch;
    const took = shownAt - boundAt;
    t.diagnostic(`alice bound in the store, then on the page ${took} ms later`);
    assert.ok(took <= 1000, `shown ${took} ms after the binding was stored`);
    assert.equal(
      await page.evaluate(
        () => (globalThis as unknown as Record<string, unknown>)['consoleTestMark'],
      ),
      42,
      'no reload: the update was pushed',
    );
    const row = await page.textContent('tr[data-aor="alice"]');
    assert.match(row ?? '', /flow TCP 127\.0\.0\.1:\d+ → 127\.0\.0\.1:\d+ at edge: open/);
    assert.match(row ?? '', /sipp console test/);
    await shoot('bindings');
    await tab('flows');
    await page.waitForSelector('tr[data-aors~="alice"]');
    assert.match((await page.textContent('tr[data-aors~="alice"]')) ?? '', /TCP/);
    await shoot('flows');
  });

  test('transactions in progress and rates have their views', async () => {
    // dave rings (180) and never answers: the INVITE is in progress at the registrar and the edge
    const dave = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: 'dave' });
    closers.push(() => dave.close());
    assert.equal((await dave.register()).status, 200);
    dave.answer = { status: 180, reason: 'Ringing' };
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    caller.call('sip:dave@example.com', '127.0.0.1', regPort, 20_000).catch(() => undefined);
    await tab('transactions');
    // the registrar's and the edge's server and client INVITE transactions, each past its 180
    const rowsText = () =>
      page.$$eval('main[data-view="transactions"] tbody tr', (trs) =>
        trs.map((r) => r.textContent ?? ''),
      );
    await waitFor(
      async () => {
        const rows = await rowsText();
        return (
          rows.filter((r) => /INVITE/.test(r) && /proceeding/.test(r) && /180/.test(r)).length >= 4
        );
      },
      5000,
      'four ringing INVITE transactions',
    );
    await shoot('transactions');
    // some traffic for the charts: REGISTERs over UDP for a few seconds
    const load = await startSipp('uac-register-outbound-hold.xml', {
      target: `127.0.0.1:${edgeUdp}`,
      transport: 'u1',
      keys: { user: 'load', instance: crypto.randomUUID(), expires: 600 },
      holdMs: 0,
      // for the documentation's picture, long enough to draw a plateau
      calls: documenting ? 1000 : 150,
      rate: 50,
      timeoutMs: 40_000,
    });
    await tab('rates');
    await page.waitForSelector('figure.chart canvas');
    await load.done;
    await sleep(1500);
    assert.equal(await page.$$eval('figure.chart', (f) => f.length), 2, 'one chart per element');
    await shoot('rates');
  });

  test("alice's flow is closed from the page: the page shows it gone; a call to her fails (480) and the registrar drops her binding", async (t) => {
    await tab('flows');
    const sel = 'tr[data-aors~="alice"]';
    await page.click(`${sel} button`);
    await page.waitForSelector('dialog[open]');
    await shoot('confirm');
    await confirm();
    const t0 = Date.now();
    await page.waitForSelector(sel, { state: 'detached', timeout: 1000 });
    t.diagnostic(`flow row gone ${Date.now() - t0} ms after the confirmation`);
    await page.waitForSelector('.notice.ok');
    // sipp sees its connection end
    const r = await alice?.done;
    t.diagnostic(`sipp after the close: exit ${r?.exitCode ?? r?.signal}`);
    await tab('bindings');
    await page.waitForSelector('tr[data-aor="alice"] .path-gone');
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    const call = await caller.call('sip:alice@example.com', '127.0.0.1', regPort);
    assert.equal(call.status, 480, 'the flow is gone: 430 at the edge, 480 to the caller');
    // RFC 5626 §5.3 / seed FAIL_OUTBOUND: the registrar unregisters a binding whose flow failed
    await page.waitForSelector('tr[data-aor="alice"]', { state: 'detached', timeout: 2000 });
  });

  test('a binding removed from the page: the UA is no longer called, the next call gets 404', async () => {
    const carol = await TestUa.connect('tcp', '127.0.0.1', edgeTcp, { user: 'carol' });
    closers.push(() => carol.close());
    assert.equal((await carol.register()).status, 200);
    carol.answer = { status: 486, reason: 'Busy Here' };
    const caller = await TestCaller.open();
    closers.push(() => caller.close());
    const first = await caller.call('sip:carol@example.com', '127.0.0.1', regPort);
    assert.equal(first.status, 486, 'carol is reached (and busy)');
    const invites = carol.requests.filter((r) => r.method === 'INVITE').length;
    await tab('bindings');
    await page.fill('input[type="search"]', 'carol');
    await page.waitForSelector('tr[data-aor="carol"]');
    await waitFor(
      async () => (await page.locator('main[data-view="bindings"] tbody tr').count()) === 1,
      5000,
      'only carol listed',
    );
    await page.click('tr[data-aor="carol"] button');
    await confirm();
    await page.waitForSelector('tr[data-aor="carol"]', { state: 'detached', timeout: 1000 });
    await page.waitForSelector('text=No bindings.');
    const next = await caller.call('sip:carol@example.com', '127.0.0.1', regPort);
    assert.equal(next.status, 404, 'no binding: 404 Not Found');
    assert.equal(
      carol.requests.filter((r) => r.method === 'INVITE').length,
      invites,
      'carol got no INVITE',
    );
    await page.fill('input[type="search"]', '');
  });

  test('on a phone screen the views fit the width; everything came from flowgate', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await tab('bindings');
    await page.waitForSelector('tr[data-aor="dave"]');
    // the page's CSP forbids evaluating strings: a function, with the DOM typed by hand
    const overflow = await page.evaluate(() => {
      const d = (
        globalThis as unknown as {
          document: { documentElement: { scrollWidth: number; clientWidth: number } };
        }
      ).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });
    assert.ok(overflow <= 1, `no sideways scrolling (${overflow} px too wide)`);
    await shoot('phone');
    await tab('flows');
    await shoot('phone-flows');
    const foreign = requested.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith('data:'));
    assert.deepEqual(foreign, [], 'no request left flowgate');
    assert.deepEqual(pageErrors, [], 'no script error on the page');
  });
});
