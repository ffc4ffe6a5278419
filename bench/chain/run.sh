#!/usr/bin/env bash
# Chain benchmarks of issue 4 §5 and issue 5 §4: the shared target-agnostic sipp benchmarks
# (../shared/bench/bench.sh, callbench.sh) against real Kamailio 5.6 (the seed configs through
# ../shared/kamailio/kamailio.sh) and against flowgate, alternately in one run, on loopback.
#
#   bench/chain/run.sh SUITE...          (npm run bench:chain -- SUITE...)
#
# Suites (give one or more; each is bounded by BUDGET seconds, default 840 = 14 min, for the whole
# invocation: a run that would not fit is skipped and reported as skipped):
#   udp      bench.sh udp  against every set-up          (8-12 min for 2 rounds of 4 set-ups)
#   tcp      bench.sh tcp  against kk, kf, ff            (7-9 min for 2 rounds)
#   call     callbench.sh tcp against kk, ff, f1         (6-9 min for 2 rounds)
#   memory   100 000 bindings in the flowgate registrar (memory and sqlite store) and in the
#            Kamailio registrar; bytes per binding        (~3 min)
#   profile  node --cpu-prof of flowgate (ff and f1) under REGISTER load through its own edge;
#            self time by function                       (~1 min)
#   auth     authenticated REGISTER (401 challenge + authorized REGISTER, bench/auth/client.ts, issue
#            10) against ka and fa at the same time, alternating step by step (bench/auth/suites.sh)
#   pike     bench.sh udp against fn and fp at the same time, alternating step by step: the cost of
#            the pike rate limiter on the edge (issue 10)
#   soak     10 000 users refreshing over UDP at SOAK_RATE (2500/s) for SOAK_SECS (300 s) through
#            edge and registrar, SOAK_SETUPS (kk f1) one after the other: failures, retransmissions,
#            response times, RSS/PSS over time, flowgate GC pauses (issue 12, bench/soak/suite.sh)
#   cfg      REGISTER (bench.sh udp) and call (callbench.sh tcp) rates of flowgate running the seed
#            files (`flowgate start -c edge.cfg` / `-c registrar.cfg`, fc) against the built-in
#            TypeScript scripts (ft), alternating ABBA; fc/ft per benchmark (issue 11, bench/cfg/suite.sh)
# Set-ups (each started fresh for every run and stopped by PID afterwards):
#   kk  Kamailio edge 127.0.61.1 -> Kamailio registrar 127.0.61.2     (the full Kamailio chain)
#   kf  Kamailio edge 127.0.61.3 -> flowgate registrar 127.0.61.4     (issue 4 §5)
#   ff  flowgate edge 127.0.61.5 -> flowgate registrar 127.0.61.6     (two processes, issue 5 §4)
#   f1  flowgate edge 127.0.61.7 + registrar 127.0.61.8 in ONE process (the default configuration)
#   ka  Kamailio edge 127.0.61.13 -> Kamailio registrar 127.0.61.14 with KAM_AUTH=1 (auth_db/db_text)
#   fa  flowgate edge 127.0.61.15 -> flowgate registrar 127.0.61.16 with modules.auth + auth_db sqlite
#   fn  flowgate edge 127.0.61.19 -> flowgate registrar 127.0.61.20 (as ff, for the pike suite)
#   fp  flowgate edge 127.0.61.17 with modules.pike -> flowgate registrar 127.0.61.18
# All on port 5060 (WS 8080) of their own loopback address; sipp from 127.0.61.60 (bench),
# .70 (callbench UAs), .80 (callbench caller). flowgate registrars keep bindings in SQLite in a
# temp dir (FG_BACKEND=memory to change). Kamailio runs with KAM_SHM_MB=1024 (kamailio.sh's
# default of 256 runs out of shared memory at >= 4000 REGISTER/s: tm "out of mem" -> 500).
# Rounds alternate the set-ups in ABBA order (round 1 kk kf ff f1, round 2 f1 ff kf kk, ...).
# Output: per run a folder under OUT (bench output with per-step CPU/RSS of every process tree from
# procmon.py, logs, UDP socket drops, flowgate /v1/stats), then bench/chain/report.ts prints the
# tables and ratios and writes bench/results/<timestamp>-chain.json (gitignored); BASELINE=1 also
# merges the figures into bench/baseline.json.
# Env: ROUNDS=2 BUDGET=840 SETUPS="kk kf ff f1" FG_BACKEND=sqlite KAM_SHM_MB=1024
#      CALL_REG_RATE=2000 (callbench.sh REG_RATE; each UA sends 2 REGISTERs)
#      QUIET_PCT=25 QUIET_WAIT=60 (wait for a quiet machine before each run)
#      MEM_BINDINGS=100000 MEM_RATE=2000 PROFILE_RATE=1500 PROFILE_SECS=20
#      auth/pike: AUTH_RATES PIKE_RATES ALT_STEP_SECS=5 AUTH_USERS_N=2000 AUTH_USERS=<file>
#      AUTH_ALGORITHM=MD5 PIKE_DENSITY=1000000 (see bench/auth/suites.sh)
#      soak: SOAK_SETUPS="kk f1" SOAK_RATE=2500 SOAK_SECS=300 SOAK_EXPIRES=600 SOAK_INTERVAL=5
#      SOAK_RTT=1 SOAK_USERS=<file> SOAK_FLAT_MB_PER_MIN=2 (see bench/soak/suite.sh)
#      cfg: CFG_BENCHES="register call" CFG_REG_RATES CFG_CALL_RATES CFG_STEP_SECS
#      CFG_CALL_REG_RATE CFG_TS_SEED_STRICT=0 (see bench/cfg/suite.sh)
#      FLOWGATE_DIST=<dir with cli/main.js> (default: a private build of this work tree's src/ in
#      OUT, so edits made while the run goes on do not touch it)   OUT=<dir>   BASELINE=0|1
# Requires: sipp (sip-tester 3.6.1), kamailio (kamailio.sh install), node + npm ci, python3, bc,
#           ss, curl.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${FLOWGATE_SHARED_DIR:-$ROOT/../shared}"
BENCH="$SHARED/bench"; KAMSH="$SHARED/kamailio/kamailio.sh"
ROUNDS="${ROUNDS:-2}"; BUDGET="${BUDGET:-840}"; FG_BACKEND="${FG_BACKEND:-sqlite}"
export KAM_SHM_MB="${KAM_SHM_MB:-1024}"
MEM_BINDINGS="${MEM_BINDINGS:-100000}"; MEM_RATE="${MEM_RATE:-2000}"
PROFILE_RATE="${PROFILE_RATE:-1500}"; PROFILE_SECS="${PROFILE_SECS:-20}"
CALL_REG_RATE="${CALL_REG_RATE:-2000}"  # callbench.sh REG_RATE: UA registrations/s (x2 REGISTERs each)
QUIET_PCT="${QUIET_PCT:-25}"; QUIET_WAIT="${QUIET_WAIT:-60}"; QUIET_NOTE=""
OUT="${OUT:-$(mktemp -d /tmp/chainbench.XXXXXX)}"; mkdir -p "$OUT"
T_START=$(date +%s)
AUTHZ="Authorization: Bearer flowgate-bench-token-not-secret"  # management.token of the bench configs
SUITES="$*"
[ -n "$SUITES" ] || { sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2; }
for s in $SUITES; do case $s in udp|tcp|call|memory|profile|auth|pike|soak|cfg) ;; *) echo "unknown suite $s" >&2; exit 2 ;; esac; done

declare -A EIP=([kk]=127.0.61.1 [kf]=127.0.61.3 [ff]=127.0.61.5 [f1]=127.0.61.7)
declare -A RIP=([kk]=127.0.61.2 [kf]=127.0.61.4 [ff]=127.0.61.6 [f1]=127.0.61.8)
declare -A NAME=([kk]="kamailio" [kf]="kamailio-edge+flowgate-registrar" [ff]="flowgate-2proc" [f1]="flowgate-1proc")
# issue 10 (auth and pike suites, bench/auth/suites.sh): two set-ups run at once, so their own addresses
EIP+=([ka]=127.0.61.13 [fa]=127.0.61.15 [fp]=127.0.61.17 [fn]=127.0.61.19)
RIP+=([ka]=127.0.61.14 [fa]=127.0.61.16 [fp]=127.0.61.18 [fn]=127.0.61.20)
NAME+=([ka]="kamailio+auth" [fa]="flowgate-2proc+auth" [fp]="flowgate-2proc+pike" [fn]="flowgate-2proc")
PORT=5060; WSP=8080
LOCAL_IP=127.0.61.60; UA_IP=127.0.61.70; CALLER_IP=127.0.61.80

log() { echo "[$(( $(date +%s) - T_START ))s] $*"; }
elapsed() { echo $(( $(date +%s) - T_START )); }
fits() { [ $(( $(elapsed) + $1 )) -le "$BUDGET" ]; }

# ---------------------------------------------------------------- process bookkeeping
FG_PIDS=""; KAM_DIRS=""; DRIVER_PID=""
stop_pid() { # pid [grace seconds]: TERM, then KILL after the grace period
  local pid=$1 g=${2:-10} i
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 $(( g * 10 ))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && { echo "pid $pid did not stop in ${g}s: KILL" >&2; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null
  return 0
}
stop_all() {
  local p d
  [ -n "$DRIVER_PID" ] && stop_pid "$DRIVER_PID" 5; DRIVER_PID=""
  for p in $FG_PIDS; do stop_pid "$p" 15; done; FG_PIDS=""
  for d in $KAM_DIRS; do STATE_DIR="$d" bash "$KAMSH" stop both >/dev/null 2>&1; done; KAM_DIRS=""
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM

listening() { # proto ip port
  local flag=-lnu; [ "$1" = tcp ] && flag=-lnt
  ss $flag 2>/dev/null | awk '{print $4}' | grep -qx "$2:$3"
}
wait_listen() { # pid ip port
  local i
  for i in $(seq 1 150); do
    listening udp "$2" "$3" && listening tcp "$2" "$3" && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- flowgate build
if [ -z "${FLOWGATE_DIST:-}" ]; then
  B="$OUT/build"; mkdir -p "$B"
  cp -r "$ROOT/src" "$ROOT/package.json" "$ROOT/tsconfig.json" "$ROOT/tsconfig.build.json" "$B/"
  ln -sfn "$ROOT/node_modules" "$B/node_modules"
  log "building flowgate from the work tree's src/ into $B/dist"
  (cd "$B" && "$ROOT/node_modules/.bin/tsc" -p tsconfig.build.json) >"$OUT/build.log" 2>&1 \
    || { echo "build failed, see $OUT/build.log" >&2; cat "$OUT/build.log" >&2; exit 1; }
  FLOWGATE_DIST="$B/dist"
  # what was built (read back by later runs given FLOWGATE_DIST=this dist)
  { echo "git_head=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo "git_dirty_files=$(git -C "$ROOT" status --porcelain -- src 2>/dev/null | wc -l)"
    echo "src_sha1=$(cd "$B" && find src -type f -name '*.ts' | sort | xargs cat | sha1sum | cut -c1-12)"
  } >"$FLOWGATE_DIST/build.env"
fi
FG_MAIN="$FLOWGATE_DIST/cli/main.js"
[ -f "$FG_MAIN" ] || { echo "no $FG_MAIN" >&2; exit 1; }
command -v sipp >/dev/null || { echo "sipp not installed (apt-get install -y sip-tester)" >&2; exit 2; }
bash "$KAMSH" install || { echo "cannot install kamailio" >&2; exit 2; }

# machine note, once per invocation
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "mem_mib=$(awk '/MemTotal/{print int($2/1024)}' /proc/meminfo)"
  echo "kernel=$(uname -r)"
  echo "node=$(node -v)"
  echo "kamailio=$(kamailio -v 2>/dev/null | head -1 | sed 's/^version: //')"
  echo "sipp=$(sipp -v 2>/dev/null | grep -o 'v[0-9][0-9.]*[^ ]*' | head -1)"
  if [ -f "$FLOWGATE_DIST/build.env" ]; then cat "$FLOWGATE_DIST/build.env"
  else echo "git_head=unknown (FLOWGATE_DIST built elsewhere)"; echo "git_dirty_files=unknown"; echo "src_sha1=unknown"; fi
  echo "flowgate_dist=$FLOWGATE_DIST"
  echo "fg_backend=$FG_BACKEND"
  echo "kam_shm_mb=$KAM_SHM_MB"
  echo "suites=$SUITES"
  echo "rounds=$ROUNDS"
  echo "call_reg_rate=$CALL_REG_RATE"
} >"$OUT/machine.env"

# ---------------------------------------------------------------- set-ups
render() { # template out [sed expressions...]; the memory store takes no path
  local in=$1 out=$2; shift 2
  sed "$@" "$HERE/$in" >"$out.tmp"
  if grep -q 'backend: memory' "$out.tmp"; then sed '/path: location.db/d' "$out.tmp" >"$out"; else cp "$out.tmp" "$out"; fi
  rm -f "$out.tmp"
}
start_flowgate() { # dir name config [node flags...] -> sets FG_PID
  local dir=$1 name=$2 cfg=$3; shift 3
  mkdir -p "$dir/$name.data"
  set -- "${@//@NAME@/$name}"
  setsid node "$@" "$FG_MAIN" start -c "$cfg" --data-dir "$dir/$name.data" \
    >"$dir/$name.log" 2>"$dir/$name.err" </dev/null &
  FG_PID=$!; FG_PIDS="$FG_PIDS $FG_PID"
}
start_kam() { # dir roles edge_ip reg_ip
  KAM_DIRS="$KAM_DIRS $1/kam"
  EDGE_IP=$3 EDGE_PORT=$PORT WS_PORT=$WSP REG_IP=$4 REG_PORT=$PORT STATE_DIR="$1/kam" \
    bash "$KAMSH" start "$2" >>"$1/kam.start" 2>&1
}
# start_setup SETUP DIR [node flags for flowgate] -> MON, PIDS_DESC, SOCKS, MGMT_URLS
start_setup() {
  local s=$1 dir=$2; shift 2
  local e=${EIP[$s]} r=${RIP[$s]} ep rp
  mkdir -p "$dir"; MON=""; SOCKS="$e:$PORT $r:$PORT"; MGMT_URLS=""
  case $s in
    kk)
      start_kam "$dir" both "$e" "$r" || return 1
      MON="edge=$(cat "$dir/kam/edge.pid") registrar=$(cat "$dir/kam/registrar.pid")" ;;
    ka) # the seed registrar + auth_check/auth_challenge over auth_db (db_text) with the bench's users
      KAM_AUTH=1 KAM_USERS="$AUTH_USERS" start_kam "$dir" both "$e" "$r" || return 1
      MON="edge=$(cat "$dir/kam/edge.pid") registrar=$(cat "$dir/kam/registrar.pid")" ;;
    kf)
      render registrar.yaml.in "$dir/registrar.yaml" -e "s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$r:18082/g; s/@BACKEND@/$FG_BACKEND/g"
      start_flowgate "$dir" registrar "$dir/registrar.yaml" "$@"; rp=$FG_PID
      wait_listen "$rp" "$r" "$PORT" || { cat "$dir/registrar.err" >&2; return 1; }
      start_kam "$dir" edge "$e" "$r" || return 1
      MON="edge=$(cat "$dir/kam/edge.pid") registrar=$rp"; MGMT_URLS="registrar=http://$r:18082" ;;
    ff|fa|fn|fp)
      local radd=() eadd=() # fa: digest authentication on the registrar; fp: pike on the edge
      [ "$s" = fa ] && radd=(-e '/^    modules:$/a\      auth: {} # bench/auth: defaults (SHA-256 + MD5 challenges, qop=auth, nonce counts)\n      auth_db: { backend: sqlite, path: subscriber.db } # filled by bench/auth/users.ts')
      [ "$s" = fp ] && eadd=(-e "/^    modules:\$/a\\      pike: { reqs_density_per_unit: ${PIKE_DENSITY:-1000000} } # bench/auth: never bans the bench's one source")
      render registrar.yaml.in "$dir/registrar.yaml" -e "s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$r:18082/g; s/@BACKEND@/$FG_BACKEND/g" "${radd[@]}"
      render edge.yaml.in "$dir/edge.yaml" -e "s/@EDGE_IP@/$e/g; s/@EDGE_PORT@/$PORT/g; s/@WS_PORT@/$WSP/g; s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$e:18081/g" "${eadd[@]}"
      if [ "$s" = fa ]; then auth_fill_db "$dir/registrar.data/subscriber.db" >>"$dir/users.out" 2>&1 || { cat "$dir/users.out" >&2; return 1; }; fi
      start_flowgate "$dir" registrar "$dir/registrar.yaml" "$@"; rp=$FG_PID
      start_flowgate "$dir" edge "$dir/edge.yaml" "$@"; ep=$FG_PID
      wait_listen "$rp" "$r" "$PORT" || { cat "$dir/registrar.err" >&2; return 1; }
      wait_listen "$ep" "$e" "$PORT" || { cat "$dir/edge.err" >&2; return 1; }
      MON="edge=$ep registrar=$rp"; MGMT_URLS="edge=http://$e:18081 registrar=http://$r:18082" ;;
    f1)
      render one.yaml.in "$dir/one.yaml" -e "s/@EDGE_IP@/$e/g; s/@EDGE_PORT@/$PORT/g; s/@WS_PORT@/$WSP/g; s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$e:18081/g; s/@BACKEND@/$FG_BACKEND/g"
      start_flowgate "$dir" one "$dir/one.yaml" "$@"; ep=$FG_PID
      wait_listen "$ep" "$e" "$PORT" && wait_listen "$ep" "$r" "$PORT" || { cat "$dir/one.err" >&2; return 1; }
      MON="flowgate=$ep"; MGMT_URLS="flowgate=http://$e:18081" ;;
  esac
  sleep 1
}

# UDP receive-buffer drops per listening socket (ss skmem d counter), e.g. "127.0.61.1:5060=0 ..."
sock_drops() {
  local a out=""
  for a in $SOCKS; do
    out="$out $a=$(ss -uanm "src $a" 2>/dev/null | grep -o 'skmem:([^)]*)' | grep -o ',d[0-9]*' | tr -d ',d' | head -1)"
  done
  echo "${out# }"
}
busy_ticks() { awk '/^cpu /{print $2+$3+$4+$7+$8}' /proc/stat; }
tree_ticks() { # pgid (every process we start is a session leader) -> utime+stime ticks
  local p t=0 v
  for p in $(pgrep -s "$1" 2>/dev/null); do
    v=$(awk '{s=substr($0,index($0,")")+2); split(s,f," "); print f[12]+f[13]}' "/proc/$p/stat" 2>/dev/null) && t=$(( t + ${v:-0} ))
  done
  echo $t
}
log_errors() { # dir -> "name=warn/error counts" for flowgate JSON logs and Kamailio logs
  local f out=""
  for f in "$1"/*.log; do
    [ -f "$f" ] || continue
    out="$out $(basename "$f" .log):warn=$(grep -c '"level":40' "$f"),error=$(grep -cE '"level":(50|60)' "$f")"
  done
  for f in "$1"/kam/*.log; do
    [ -f "$f" ] || continue
    out="$out kamailio-$(basename "$f" .log):warn=$(grep -c ' WARNING: ' "$f"),error=$(grep -c ' ERROR: ' "$f")"
  done
  echo "${out# }"
}

# Other work on the machine (tests, other benchmarks) skews a 2-core box: before each run, wait up to
# QUIET_WAIT seconds for 2 s during which the whole machine is busy < QUIET_PCT % of one core.
wait_quiet() {
  local t0 b0 b1 pct waited=0
  while :; do
    b0=$(busy_ticks); sleep 2; b1=$(busy_ticks); pct=$(( (b1 - b0) / 2 ))
    [ "$pct" -lt "$QUIET_PCT" ] && break
    waited=$(( waited + 2 ))
    [ "$waited" -ge "$QUIET_WAIT" ] && { log "machine still busy (${pct}% of a core) after ${QUIET_WAIT}s: running anyway"; break; }
  done
  QUIET_NOTE="waited=${waited}s busy_before=${pct}%"
}

# run_one SUITE SETUP ROUND: fresh set-up, one shared benchmark, stop; everything in OUT/SUITE/ROUND-SETUP
run_one() {
  local suite=$1 s=$2 round=$3 dir="$OUT/$1/r$3-$2" cmd t0 t1 b0 b1 k0 k1 d1 pid line u
  mkdir -p "$dir"
  if ! start_setup "$s" "$dir"; then
    log "$suite round $round ${NAME[$s]}: set-up did not start (see $dir)"; echo "status=start_failed" >"$dir/run.env"; stop_all; return
  fi
  wait_quiet
  case $suite in
    udp|tcp) cmd=(bash "$BENCH/bench.sh" "${EIP[$s]}" "$PORT" "$suite") ;;
    call)    cmd=(env REG_RATE="$CALL_REG_RATE" bash "$BENCH/callbench.sh" "${EIP[$s]}" "$PORT" "${RIP[$s]}" "$PORT" tcp) ;;
  esac
  b0=$(busy_ticks); k0=0; for pid in $FG_PIDS $(cat "$dir"/kam/*.pid 2>/dev/null); do k0=$(( k0 + $(tree_ticks "$pid") )); done
  t0=$(date +%s.%N)
  # the driver (bench script + sipp + procmon) runs in its own session; its own PID joins MON
  MON="$MON" OUT="$dir/sipp" LOCAL_IP=$LOCAL_IP UA_IP=$UA_IP CALLER_IP=$CALLER_IP \
    setsid bash -c 'export MON="$MON driver=$$"; exec "$@"' _ "${cmd[@]}" >"$dir/bench.txt" 2>&1 </dev/null &
  DRIVER_PID=$!
  wait "$DRIVER_PID"; DRIVER_PID=""
  t1=$(date +%s.%N); b1=$(busy_ticks)
  k1=0; for pid in $FG_PIDS $(cat "$dir"/kam/*.pid 2>/dev/null); do k1=$(( k1 + $(tree_ticks "$pid") )); done
  for u in $MGMT_URLS; do curl -s -m 5 -H "$AUTHZ" "${u#*=}/v1/stats" >"$dir/stats-${u%%=*}.json" 2>/dev/null; done
  d1=$(sock_drops)
  line=$(grep -E '^(register_rate_|call_rate=)' "$dir/bench.txt" | tail -1)
  {
    echo "status=done"; echo "suite=$suite"; echo "setup=$s"; echo "round=$round"
    echo "result=$line"; echo "wall_s=$(echo "$t1 - $t0" | bc)"
    echo "busy_ticks=$(( b1 - b0 ))"; echo "setup_ticks=$(( k1 - k0 ))"
    echo "sock_drops=$d1"; echo "log_errors=$(log_errors "$dir")"; echo "mon=$MON"; echo "quiet=$QUIET_NOTE"
  } >"$dir/run.env"
  log "$suite round $round ${NAME[$s]}: ${line:-no result (see $dir/bench.txt)} | udp socket drops: $d1 | $(log_errors "$dir") | $QUIET_NOTE"
  stop_all
  sleep 1
}

suite_setups() { # suite -> set-ups in the order of round 1
  local want="${SETUPS:-kk kf ff f1}" s out=""
  case $1 in udp) all="kk kf ff f1" ;; tcp) all="kk kf ff" ;; call) all="kk ff f1" ;; esac
  for s in $all; do [[ " $want " == *" $s "* ]] && out="$out $s"; done
  echo "$out"
}
reverse() { local out="" w; for w in "$@"; do out="$w $out"; done; echo "$out"; }

run_bench_suite() { # udp | tcp | call
  local suite=$1 order round s est=95
  [ "$suite" = call ] && est=110
  order=$(suite_setups "$suite")
  for round in $(seq 1 "$ROUNDS"); do
    # shellcheck disable=SC2086
    if [ $(( round % 2 )) = 0 ]; then set -- $(reverse $order); else set -- $order; fi
    for s in "$@"; do
      if ! fits $est; then log "budget: skipping $suite round $round ${NAME[$s]}"; mkdir -p "$OUT/$suite/r$round-$s"; echo "status=skipped_budget" >"$OUT/$suite/r$round-$s/run.env"; continue; fi
      run_one "$suite" "$s" "$round"
    done
  done
}

# ---------------------------------------------------------------- memory per binding
heap() { # inspector host:port -> JSON of process.memoryUsage() after two full GCs
  (cd "$ROOT" && node --import tsx "$HERE/heap.ts" "$1")
}
wait_idle() { # mgmt url: until no transaction is left (UDP non-INVITE server transactions linger 32 s, Timer J)
  local i n
  for i in $(seq 1 90); do
    n=$(curl -s -m 3 -H "$AUTHZ" "$1/v1/stats" | jq '[.elements[].transactions | .server + .client] | add' 2>/dev/null)
    [ "${n:-1}" = 0 ] && return 0; sleep 1
  done
  return 1
}
register_many() { # dir target_ip n run_id -> sipp through the edge (UDP), bindings held 3600 s
  timeout $(( $3 / MEM_RATE + 60 )) sipp "$2:$PORT" -sf "$BENCH/sipp/reg_bench.xml" -inf "$BENCH/sipp/users.csv" \
    -key domain example.com -key expires 3600 -key run "$4" -i $LOCAL_IP -t u1 -r "$MEM_RATE" -rp 1000 -m "$3" \
    -buff_size 4194304 -timeout "$(( $3 / MEM_RATE + 50 ))s" -nostdin -trace_err -error_file "$1/sipp-$4.err" \
    -trace_stat -stf "$1/sipp-$4.csv" -fd 1 >"$1/sipp-$4.out" 2>&1
  echo "sipp rc=$? $(awk -F';' 'NR>1{l=$0} END{n=split(l,f,";"); printf "succ=%d failed=%d retrans=%d", f[16], f[18], f[58]}' "$1/sipp-$4.csv" 2>/dev/null)"
}
mem_flowgate() { # backend
  local be=$1 dir="$OUT/memory/flowgate-$be" e=127.0.61.9 r=127.0.61.10 rp m0 m1 s0 s1 st
  mkdir -p "$dir"; SOCKS="$e:$PORT $r:$PORT"
  render registrar.yaml.in "$dir/registrar.yaml" -e "s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$r:18082/g; s/@BACKEND@/$be/g"
  start_flowgate "$dir" registrar "$dir/registrar.yaml" --inspect="$r:19229"; rp=$FG_PID
  wait_listen "$rp" "$r" "$PORT" || { log "memory $be: registrar did not start"; cat "$dir/registrar.err"; stop_all; return; }
  start_kam "$dir" edge "$e" "$r" || { log "memory $be: kamailio edge did not start"; stop_all; return; }
  log "memory flowgate/$be: warm-up 2000 bindings: $(MEM_RATE=1000 register_many "$dir" "$e" 2000 "mw$be$$")"
  wait_idle "http://$r:18082"
  m0=$(heap "$r:19229"); s0=$(curl -s -H "$AUTHZ" "http://$r:18082/v1/stats" | jq -c .)
  log "memory flowgate/$be: registering $MEM_BINDINGS bindings at $MEM_RATE/s through the Kamailio edge"
  st=$(register_many "$dir" "$e" "$MEM_BINDINGS" "m$be$$"); log "memory flowgate/$be: $st"
  wait_idle "http://$r:18082" || log "memory flowgate/$be: transactions still open after 90 s"
  m1=$(heap "$r:19229"); s1=$(curl -s -H "$AUTHZ" "http://$r:18082/v1/stats" | jq -c .)
  {
    echo "before_heap=$m0"; echo "after_heap=$m1"; echo "before_stats=$s0"; echo "after_stats=$s1"; echo "sipp=$st"
    echo "db_bytes=$(du -cb "$dir"/registrar.data/location.db* 2>/dev/null | tail -1 | cut -f1)"
    echo "sock_drops=$(sock_drops)"; echo "log_errors=$(log_errors "$dir")"
  } >"$dir/mem.env"
  log "memory flowgate/$be: before $m0"; log "memory flowgate/$be: after  $m1"
  stop_all
}
mem_kamailio() {
  local dir="$OUT/memory/kamailio" e=127.0.61.11 r=127.0.61.12 ctl m0 m1 st
  mkdir -p "$dir"; SOCKS="$e:$PORT $r:$PORT"
  start_kam "$dir" both "$e" "$r" || { log "memory kamailio: did not start"; stop_all; return; }
  ctl="unixs:$dir/kam/registrar.run/kamailio_ctl"
  log "memory kamailio: warm-up 2000 bindings: $(MEM_RATE=1000 register_many "$dir" "$e" 2000 "mwk$$")"
  sleep 6
  m0=$(kamcmd -s "$ctl" core.shmmem | tr -d '\n\t{} ')
  log "memory kamailio: registering $MEM_BINDINGS bindings at $MEM_RATE/s"
  st=$(register_many "$dir" "$e" "$MEM_BINDINGS" "mk$$"); log "memory kamailio: $st"
  sleep 8 # tm wait timer (5 s) frees the transactions
  m1=$(kamcmd -s "$ctl" core.shmmem | tr -d '\n\t{} ')
  { echo "before_shm=$m0"; echo "after_shm=$m1"; echo "sipp=$st"; echo "rss_kib=$(ps -o rss= -s "$(cat "$dir/kam/registrar.pid")" | paste -sd+ | bc)"
    echo "sock_drops=$(sock_drops)"; echo "log_errors=$(log_errors "$dir")"; } >"$dir/mem.env"
  log "memory kamailio: shm before $m0"; log "memory kamailio: shm after  $m1"
  stop_all
}

# ---------------------------------------------------------------- CPU profile
profile_one() { # ff | f1 ; transport
  local s=$1 tr=$2 dir="$OUT/profile/$1-$2" u
  mkdir -p "$dir"
  start_setup "$s" "$dir" --cpu-prof --cpu-prof-dir="$dir/cpuprof/@NAME@" || { log "profile $s: did not start"; stop_all; return; }
  log "profile ${NAME[$s]}: REGISTER over $tr at $PROFILE_RATE/s for ${PROFILE_SECS}s through the flowgate edge"
  python3 "$BENCH/tools/procmon.py" --interval 0.5 $MON >"$dir/procmon.txt" 2>&1 & u=$!
  timeout $(( PROFILE_SECS + 60 )) sipp "${EIP[$s]}:$PORT" -sf "$BENCH/sipp/reg_bench.xml" -inf "$BENCH/sipp/users.csv" \
    -key domain example.com -key expires 120 -key run "p$s$tr$$" -i $LOCAL_IP -t "$([ "$tr" = udp ] && echo u1 || echo t1)" \
    -r "$PROFILE_RATE" -rp 1000 -m $(( PROFILE_RATE * PROFILE_SECS )) -buff_size 4194304 -timeout "$(( PROFILE_SECS + 50 ))s" \
    -nostdin -trace_stat -stf "$dir/sipp.csv" -fd 1 >"$dir/sipp.out" 2>&1
  echo "sipp rc=$? $(awk -F';' 'NR>1{l=$0} END{n=split(l,f,";"); split(f[1],a,"\t"); split(f[3],b,"\t"); printf "succ=%d failed=%d retrans=%d elapsed=%.2fs", f[16], f[18], f[58], b[3]-a[3]}' "$dir/sipp.csv")" >"$dir/sipp.result"
  kill -TERM "$u"; wait "$u" 2>/dev/null
  log "profile ${NAME[$s]} $tr: $(cat "$dir/sipp.result") | $(tr '\n' ' ' <"$dir/procmon.txt")"
  stop_all # SIGTERM: flowgate exits cleanly and node writes the .cpuprofile
  local p; for p in "$dir"/cpuprof/*/; do
    echo "######## $(basename "$p") process"
    (cd "$ROOT" && node --import tsx "$HERE/profile.ts" --top 25 "$p"*.cpuprofile)
  done >"$dir/summary.txt" 2>&1
  cat "$dir/summary.txt"
}

log "chain bench: suites=$SUITES rounds=$ROUNDS budget=${BUDGET}s out=$OUT dist=$FLOWGATE_DIST backend=$FG_BACKEND"
# shellcheck source=../auth/suites.sh
. "$ROOT/bench/auth/suites.sh"   # the auth and pike suites (issue 10)
# shellcheck source=../soak/suite.sh
. "$ROOT/bench/soak/suite.sh"    # the soak suite (issue 12)
# shellcheck source=../cfg/suite.sh
. "$ROOT/bench/cfg/suite.sh"     # the cfg suite (issue 11)
for s in $SUITES; do
  case $s in
    udp|tcp|call) run_bench_suite "$s" ;;
    auth|pike) alt_suite "$s" ;;
    soak) soak_suite ;;
    cfg) cfg_suite ;;
    memory)
      for be in memory sqlite; do fits 150 && mem_flowgate "$be" || log "budget: skipping memory $be"; done
      fits 150 && mem_kamailio || log "budget: skipping memory kamailio" ;;
    profile)
      for s2 in ff f1; do fits 60 && profile_one "$s2" udp || log "budget: skipping profile $s2"; done ;;
  esac
done
log "chain bench: done in $(elapsed)s; out=$OUT"
if [[ " $SUITES " =~ \ (udp|tcp|call|memory|profile)\  ]]; then (cd "$ROOT" && node --import tsx "$HERE/report.ts" "$OUT"); fi
if [[ " $SUITES " =~ \ (auth|pike)\  ]]; then (cd "$ROOT" && node --import tsx bench/auth/report.ts "$OUT"); fi
if [[ " $SUITES " =~ \ soak\  ]]; then (cd "$ROOT" && node --import tsx bench/soak/report.ts "$OUT"); fi
if [[ " $SUITES " =~ \ cfg\  ]]; then (cd "$ROOT" && node --import tsx bench/cfg/report.ts "$OUT"); fi
