// The legitimate phone of test/interop/sipvicious.test.ts. flowgate and the attack tools run in a
// network namespace the test process cannot enter, so this runs there as a child process: it
// registers one user through the edge over UDP from its own loopback address with TestUa, answers
// the 401 with digest credentials (the SHA-256 challenge, the one flowgate offers first: SIPp 3.6
// only does MD5 and takes the first challenge), and prints one JSON line. Not a test file.
// Usage: node --import tsx legit-ua.ts <edge ip> <edge port> <local ip> <user> <domain>
//        (the password on stdin)
import { readFileSync } from 'node:fs';
import { TestUa } from '../../support/ua.js';

const [host = '127.0.0.1', port = '5060', local = '127.0.0.1', user = '', domain = ''] =
  process.argv.slice(2);
const password = readFileSync(0, 'utf8').trim();
const ua = await TestUa.connect('udp', host, Number(port), { user, domain, localAddress: local });
try {
  const res = await ua.register({
    expires: 600,
    auth: { username: user, password, algorithm: 'SHA-256' },
  });
  process.stdout.write(
    `${JSON.stringify({
      status: res.status,
      reason: res.reason,
      contact: res.getHeader('Contact') ?? null,
      local: ua.local,
    })}\n`,
  );
} finally {
  ua.close();
}
