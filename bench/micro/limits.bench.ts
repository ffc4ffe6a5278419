// What the per-request abuse checks cost (issue 10): pike's checkRequest for a source within its
// rate, and one exemption lookup over the permission groups (trusted, edges, registrars), against
// net.BlockList's check for the same addresses (what the address sets first used).
// Run: npx tsx bench/micro/limits.bench.ts
import { BlockList } from 'node:net';
import { Permissions } from '../../src/modules/permissions/index.js';
import { Pike } from '../../src/modules/pike/index.js';

const N = Number(process.env['LIMIT_OPS'] ?? 1_000_000);
const perms = new Permissions({ 1: ['10.0.0.5'], 2: ['127.0.0.1'], 3: ['127.0.61.18:5060'] });
const pike = new Pike(
  {
    sampling_time_unit: 2,
    reqs_density_per_unit: 1e9,
    ban_time: 300,
    auth_failures: 10,
    auth_failure_window: 60,
  },
  Date.now,
  (ip, port) => perms.exempt(ip, port),
  { banned() {}, dropped() {} },
);
const bl = new BlockList();
bl.addAddress('10.0.0.5');
bl.addAddress('127.0.0.1');
bl.addAddress('127.0.61.18');

function ns(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) fn();
  return Number(process.hrtime.bigint() - t0) / N;
}

const out = process.stdout;
for (let round = 0; round < 3; round++) {
  const a = ns(() => pike.checkRequest('127.0.61.62', 5060));
  const b = ns(() => perms.exempt('127.0.61.62', 5060));
  const c = ns(() => bl.check('127.0.61.62', 'ipv4'));
  out.write(
    `round ${round}: pike.checkRequest ${a.toFixed(0)} ns; exempt (3 groups) ${b.toFixed(0)} ns; net.BlockList.check (1 list) ${c.toFixed(0)} ns\n`,
  );
}
