// A Server-Sent Events client for tests and benchmarks (node:http; fetch cannot send another Host):
// collects the events of one stream, or reports the status of a refused request.
import { request } from 'node:http';

/** One event of the stream. */
export interface SseEvent {
  readonly event: string;
  readonly data: string;
  /** ms since the stream opened */
  readonly at: number;
}

/** An open (or refused) event stream. */
export interface SseStream {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** Events so far, oldest first (comments are left out). */
  readonly events: SseEvent[];
  /** The body of a refused request. */
  readonly body: string;
  /** Bytes received so far. */
  readonly bytes: number;
  close(): void;
}

/** Opens `url` and resolves once the response headers arrived. */
export function openSse(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 5000,
): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now();
    const events: SseEvent[] = [];
    let body = '';
    let buf = '';
    let bytes = 0;
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        bytes += Buffer.byteLength(chunk);
        if (status !== 200) {
          body += chunk;
          return;
        }
        buf += chunk;
        let end = buf.indexOf('\n\n');
        while (end >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) continue;
            if (line.startsWith('event:')) event = line.slice(6).trim();
            else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
          }
          if (data.length > 0) events.push({ event, data: data.join('\n'), at: Date.now() - t0 });
          end = buf.indexOf('\n\n');
        }
      });
      res.on('error', () => undefined);
      const stream: SseStream = {
        status,
        headers: res.headers,
        events,
        get body() {
          return body;
        },
        get bytes() {
          return bytes;
        },
        close: () => {
          req.destroy();
        },
      };
      if (status === 200) resolve(stream);
      else res.on('end', () => resolve(stream));
    });
    const timer = setTimeout(() => req.destroy(new Error(`no answer from ${url}`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}
