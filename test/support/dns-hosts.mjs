// Preloaded (`node --import`) into a flowgate process a test starts: the test's own resolver. Names
// in FLOWGATE_TEST_HOSTS (JSON, name -> IP) resolve to their address; every other name fails at once
// with ENOTFOUND, so no DNS query leaves the machine. Each question is appended to
// FLOWGATE_TEST_DNS_LOG ("A sip.example.com"), when set, so a test can say what was asked.
import dns from 'node:dns';
import { appendFileSync } from 'node:fs';
import { isIP } from 'node:net';

const hosts = JSON.parse(process.env.FLOWGATE_TEST_HOSTS ?? '{}');
const logFile = process.env.FLOWGATE_TEST_DNS_LOG;

function note(kind, name) {
  if (logFile) appendFileSync(logFile, `${kind} ${name}\n`);
}

function notFound(syscall, name) {
  const e = new Error(`${syscall} ENOTFOUND ${name}`);
  e.code = 'ENOTFOUND';
  e.syscall = syscall;
  e.hostname = name;
  return e;
}

function addressOf(name, family) {
  const v = hosts[String(name).toLowerCase().replace(/\.$/, '')];
  return typeof v === 'string' && isIP(v) === family ? v : undefined;
}

const p = dns.promises;
for (const family of [4, 6]) {
  p[`resolve${family}`] = async (name) => {
    note(family === 4 ? 'A' : 'AAAA', name);
    const a = addressOf(name, family);
    if (a === undefined) throw notFound(family === 4 ? 'queryA' : 'queryAaaa', name);
    return [a];
  };
}
for (const rr of ['Srv', 'Naptr', 'Any', 'Cname', 'Mx', 'Ns', 'Txt', 'Ptr', 'Soa', 'Caa']) {
  p[`resolve${rr}`] = async (name) => {
    note(rr.toUpperCase(), name);
    throw notFound(`query${rr}`, name);
  };
}
p.resolve = async (name, rrtype = 'A') => {
  if (rrtype === 'A') return p.resolve4(name);
  if (rrtype === 'AAAA') return p.resolve6(name);
  note(rrtype, name);
  throw notFound('query', name);
};
p.lookup = async (name, options) => {
  const fam = typeof options === 'number' ? options : (options?.family ?? 0);
  if (isIP(name) !== 0) return { address: name, family: isIP(name) };
  note('lookup', name);
  const a = fam === 6 ? addressOf(name, 6) : (addressOf(name, 4) ?? addressOf(name, 6));
  if (a === undefined) throw notFound('getaddrinfo', name);
  return options?.all ? [{ address: a, family: isIP(a) }] : { address: a, family: isIP(a) };
};
dns.lookup = (name, options, callback) => {
  const cb = typeof options === 'function' ? options : callback;
  const opts = typeof options === 'function' ? undefined : options;
  p.lookup(name, opts).then(
    (r) => (Array.isArray(r) ? cb(null, r) : cb(null, r.address, r.family)),
    (e) => cb(e),
  );
};
for (const m of ['resolve4', 'resolve6', 'resolveSrv', 'resolveNaptr', 'resolveAny', 'resolve']) {
  dns[m] = (name, ...rest) => {
    const cb = rest.pop();
    p[m](name, ...rest).then(
      (r) => cb(null, r),
      (e) => cb(e),
    );
  };
}
