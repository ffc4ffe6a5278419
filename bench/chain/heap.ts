// Prints process.memoryUsage() of a node process started with --inspect=HOST:PORT, after two full
// garbage collections (HeapProfiler.collectGarbage over the inspector protocol), so that heapUsed is
// the live heap, not live + garbage. Used by bench/chain/run.sh memory.
//   node --import tsx bench/chain/heap.ts HOST:PORT
import WebSocket from 'ws';

interface Target {
  readonly webSocketDebuggerUrl?: string;
}
interface Reply {
  readonly id?: number;
  readonly result?: { readonly result?: { readonly value?: unknown } };
  readonly error?: { readonly message: string };
}

const where = process.argv[2];
if (where === undefined) {
  console.error('usage: heap.ts HOST:PORT (the --inspect address of the process)');
  process.exit(2);
}
const targets = (await (await fetch(`http://${where}/json/list`)).json()) as Target[];
const url = targets[0]?.webSocketDebuggerUrl;
if (url === undefined) throw new Error(`no inspector target at ${where}`);

const ws = new WebSocket(url);
await new Promise<void>((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});
let next = 1;
const pending = new Map<number, (r: Reply) => void>();
ws.on('message', (data) => {
  const r = JSON.parse(String(data)) as Reply;
  if (r.id !== undefined) pending.get(r.id)?.(r);
});
function call(method: string, params: Record<string, unknown> = {}): Promise<Reply> {
  const id = next++;
  return new Promise((resolve, reject) => {
    pending.set(id, (r) =>
      r.error === undefined ? resolve(r) : reject(new Error(r.error.message)),
    );
    ws.send(JSON.stringify({ id, method, params }));
  });
}
await call('HeapProfiler.collectGarbage');
await call('HeapProfiler.collectGarbage');
const r = await call('Runtime.evaluate', {
  expression: 'JSON.stringify(process.memoryUsage())',
  returnByValue: true,
});
ws.close();
process.stdout.write(`${String(r.result?.result?.value)}\n`);
