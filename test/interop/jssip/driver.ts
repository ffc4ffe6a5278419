// Runs inside the test's loopback-only network namespace (`ip netns exec NS node --import tsx
// driver.ts DIR`): serves DIR/index.html and DIR/page.js (the JsSIP bundle) on 127.0.0.1, starts
// Debian's Chromium through playwright-core, and then executes one command per stdin line,
// answering each with one JSON line on stdout. The browser's console goes to stderr.
//   in:  {"id":1,"op":"register","args":{...}}        (op: a PageApi method, or "close")
//   out: {"ready":true,"url":"http://127.0.0.1:PORT/","chromium":"156..."}, then {"id":1,"ok":true,"result":...}
// Not a test file.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const dir = process.argv[2];
if (dir === undefined) throw new Error('usage: driver.ts DIR [CHROMIUM_ARG...]');
// further arguments go to Chromium (e.g. --ignore-certificate-errors for a test's own WSS certificate)
const extraArgs = process.argv.slice(3);

const files: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/page.js': ['page.js', 'text/javascript; charset=utf-8'],
};
const server = createServer((req, res) => {
  const f = files[req.url ?? ''];
  if (req.url === '/favicon.ico') {
    res.writeHead(204).end();
    return;
  }
  if (f === undefined) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'content-type': f[1] }).end(readFileSync(join(dir, f[0])));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

// a fresh profile directory in the test's temporary directory
const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
  executablePath: '/usr/bin/chromium',
  headless: true,
  timeout: 20_000,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
    // ICE host candidates on 127.0.0.1 (the only interface here), so the call's audio can flow
    '--allow-loopback-in-peer-connection',
    ...extraArgs,
  ],
});
const page = context.pages()[0] ?? (await context.newPage());
page.on('console', (m) => process.stderr.write(`[console.${m.type()}] ${m.text()}\n`));
page.on('pageerror', (e) => process.stderr.write(`[pageerror] ${e.message}\n`));
// FLOWGATE_WS_TRACE=1: every WebSocket frame the page sends and receives, as the browser saw it
if (process.env['FLOWGATE_WS_TRACE'] === '1')
  page.on('websocket', (ws) => {
    const trace = (dirn: string, payload: string | Buffer): void => {
      process.stderr.write(`[ws ${dirn} ${ws.url()}]\n${String(payload)}\n[/ws]\n`);
    };
    ws.on('framesent', (f) => trace('sent', f.payload));
    ws.on('framereceived', (f) => trace('received', f.payload));
  });
await page.goto(url, { timeout: 10_000 });
await page.waitForFunction(() => 'flowgate' in globalThis, undefined, { timeout: 10_000 });

function send(o: unknown): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

async function close(): Promise<void> {
  await context.close().catch(() => undefined);
  server.close();
}

send({ ready: true, url, chromium: context.browser()?.version() ?? null });

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const { id, op, args } = JSON.parse(line) as { id: number; op: string; args?: unknown };
  if (op === 'close') {
    await close();
    send({ id, ok: true, result: null });
    break;
  }
  try {
    const result = await page.evaluate(
      ([o, a]) =>
        (globalThis as unknown as Record<string, Record<string, (x: unknown) => unknown>>)[
          'flowgate'
        ]?.[o as string]?.(a),
      [op, args] as const,
    );
    send({ id, ok: true, result });
  } catch (e) {
    send({ id, ok: false, error: e instanceof Error ? e.message : String(e) });
  }
}
await close();
process.exit(0);
