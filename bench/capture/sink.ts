// A HEP collector that only counts (for bench/capture/run.sh): binds UDP (or TCP) host:port, counts
// HEPv3 packets and octets, and every second writes `packets=N bytes=N undecodable=N` to a file.
// It does as little as it can, so that on a two-core machine it takes little CPU from the proxy.
//   node --import tsx bench/capture/sink.ts udp 127.0.62.9 9060 /tmp/sink.txt
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';

const [proto = 'udp', host = '127.0.0.1', portText = '9060', file = '/dev/stdout'] =
  process.argv.slice(2);
let packets = 0;
let bytes = 0;
let bad = 0;

function count(b: Buffer): void {
  if (b.length >= 6 && b[0] === 0x48 && b[1] === 0x45 && b[2] === 0x50 && b[3] === 0x33) {
    packets++;
    bytes += b.length;
  } else bad++;
}

if (proto === 'udp') {
  const s = createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 8 << 20 });
  s.on('message', count);
  s.bind(Number(portText), host);
} else {
  createServer((c) => {
    let pending = Buffer.alloc(0);
    c.on('data', (d: Buffer) => {
      let b = pending.length === 0 ? d : Buffer.concat([pending, d]);
      while (b.length >= 6) {
        const len = b.readUInt16BE(4);
        if (len < 6 || b.length < len) break;
        count(b.subarray(0, len));
        b = b.subarray(len);
      }
      pending = Buffer.from(b);
    });
    c.on('error', () => {});
  }).listen(Number(portText), host);
}

const write = (): void =>
  writeFileSync(file, `packets=${packets} bytes=${bytes} undecodable=${bad}\n`);
setInterval(write, 1000);
process.on('SIGTERM', () => {
  write();
  process.exit(0);
});
