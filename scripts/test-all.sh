#!/usr/bin/env bash
# Installs what the tests need (npm packages, and the real peers from Debian: sipp, redis-server,
# redis-sentinel, openssl, baresip, Kamailio) and runs every test tier: typecheck, lint, build,
# unit + conformance + integration + fuzz + interop, with coverage. This is the README's test command; .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v sipp >/dev/null 2>&1 || missing+=(sip-tester)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || missing+=(redis-sentinel) # Sentinel failover tests (test/integration/redis-ha/)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v bc >/dev/null 2>&1 || missing+=(bc)
command -v baresip >/dev/null 2>&1 || missing+=(baresip-core)
# phones without outbound behind an iptables NAT (test/interop/softphones-behind-nat.test.ts)
command -v linphonec >/dev/null 2>&1 || missing+=(linphone-cli)
command -v iptables >/dev/null 2>&1 || missing+=(iptables)
command -v tcpdump >/dev/null 2>&1 || missing+=(tcpdump)
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
[ -x /usr/bin/chromium ] || missing+=(chromium) # JsSIP in a browser (test/interop/jssip-chromium.test.ts)
command -v svwar >/dev/null 2>&1 || missing+=(sipvicious)
command -v sngrep >/dev/null 2>&1 || missing+=(sngrep) # a real HEP collector (test/interop/sngrep.test.ts)
# systemd-analyze verify checks examples/systemd/flowgate.service (test/integration/cli/systemd-unit.test.ts)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing ${missing[*]}"
  as_root apt-get update -qq || true
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Kamailio (the reference peer) through the shared helper, when the shared folder is beside us
if [ -x ../shared/kamailio/kamailio.sh ]; then
  ../shared/kamailio/kamailio.sh install || echo "warning: could not install kamailio; its interop tests will be skipped"
fi

if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi
npm run typecheck
npm run lint
npm run build
# every test tier with V8 coverage; c8 then checks the gate on src/ (>= 85 % of lines)
cov="$(mktemp -d)"
trap 'rm -rf "$cov"' EXIT
status=0
NODE_V8_COVERAGE="$cov" npx tsx scripts/run-tests.ts test || status=$?
npx tsx scripts/clean-coverage.ts "$cov"
npx c8 report --temp-directory "$cov" --include 'src/**' --reporter=text-summary --check-coverage --lines 85 || status=$?
exit $status
