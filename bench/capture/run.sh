#!/usr/bin/env bash
# The cost of SIP capture (issue 13 §3, "capture on: REGISTER and call rates within 10 % of capture
# off, in one run"). Two flowgate set-ups run AT THE SAME TIME, each edge + registrar in one process
# (bench/chain/one.yaml.in, the default configuration) on loopback addresses of its own:
#   off  127.0.62.1 (edge) / 127.0.62.2 (registrar)             no siptrace
#   on   127.0.62.3 (edge) / 127.0.62.4 (registrar)             modules.siptrace on both elements:
#        every message in and out as HEPv3 to a collector at 127.0.62.9:9060: bench/capture/sink.ts
#        (HEP_SINK=count, the default), a HEP receiver that checks and counts every packet; or
#        HEP_SINK=drop, a socket that never reads (a collector on another host costs the proxy its
#        sends only, and the sink's CPU is not taken from a small machine)
# The driver alternates between them step by step (the order flips at every rate: off on, on off,
# ...), after one uncounted warm-up step each, so that machine noise hits both alike:
#   register  ../shared/bench/bench.sh udp, one invocation per step (RATES=<rate>): new outbound
#             REGISTERs from 127.0.62.60 through the edge to the registrar
#   call      ../shared/bench/callbench.sh (UAs register over TCP through the edge, a caller sends
#             INVITE/ACK/BYE to the registrar, which routes them through the edge to the UAs)
# Each set-up ramps until its first failing step, then the midpoint between its last pass and that
# failure is tried. CPU of each flowgate process is read from /proc per step (µs per operation).
#
#   bash bench/capture/run.sh [register] [call]        (default: both)
#
# Output: OUT/steps.txt (one line per step), the raw output of every step, the set-up folders
# (config, logs, /v1/capture at the end), and the final lines:
#   register_rate_capture_off=NNNN/s  register_rate_capture_on=NNNN/s
#   register_ratio_on_off=0.NNN  register_capture_cost=N.N%   (the issue's goal: ratio >= 0.90)
#   call_rate_capture_off=NNN/s  call_rate_capture_on=NNN/s  call_ratio_on_off=0.NNN  call_capture_cost=N.N%
#   cpu_per_op off/on (at the rates both passed), HEP packets the sink counted vs flowgate sent
# Smoke (a minute; proves the script, not the numbers):
#   REG_RATES="100 200" CALL_RATES="20 40" STEP_SECS=2 WARMUP_RATE=50 CALL_REG_RATE=500 bash bench/capture/run.sh
# Env: REG_RATES="1000 2000 3000 4000 5000 6000 7000 8000" CALL_RATES="300 600 900 1200 1500 1800 2100 2500 3000"
#      STEP_SECS=5 WARMUP_RATE=200 BUDGET=600 (seconds for the whole run; steps that would not fit
#      are skipped) CALL_REG_RATE=2000 HEP_PROTO=udp|tcp HEP_SINK=count|drop FG_BACKEND=memory OUT=<dir>
#      FLOWGATE_DIST=<dir with cli/main.js> (default: a private build of this work tree's src/)
# Requires: sipp (sip-tester), node + npm ci, python3, bc, ss, curl.
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${FLOWGATE_SHARED_DIR:-$ROOT/../shared}"; BENCH="$SHARED/bench"
REG_RATES="${REG_RATES:-1000 2000 3000 4000 5000 6000 7000 8000}"
CALL_RATES="${CALL_RATES:-300 600 900 1200 1500 1800 2100 2500 3000}"
STEP_SECS="${STEP_SECS:-5}"; WARMUP_RATE="${WARMUP_RATE:-200}"; BUDGET="${BUDGET:-600}"
CALL_REG_RATE="${CALL_REG_RATE:-2000}"; HEP_PROTO="${HEP_PROTO:-udp}"; FG_BACKEND="${FG_BACKEND:-memory}"
HEP_SINK="${HEP_SINK:-count}"
OUT="${OUT:-$(mktemp -d /tmp/capturebench.XXXXXX)}"; mkdir -p "$OUT"
SUITES="${*:-register call}"
for s in $SUITES; do case $s in register|call) ;; *) echo "unknown suite $s (register, call)" >&2; exit 2 ;; esac; done
command -v sipp >/dev/null || { echo "sipp not installed (apt-get install -y sip-tester)" >&2; exit 2; }
[ -f "$BENCH/bench.sh" ] || { echo "no $BENCH/bench.sh (set FLOWGATE_SHARED_DIR)" >&2; exit 2; }
T_START=$(date +%s)
AUTHZ="Authorization: Bearer flowgate-bench-token-not-secret"
PORT=5060; WSP=8080; HEP_IP=127.0.62.9; HEP_PORT=9060
declare -A EIP=([off]=127.0.62.1 [on]=127.0.62.3) RIP=([off]=127.0.62.2 [on]=127.0.62.4)
declare -A MGMT=([off]=127.0.62.1:18081 [on]=127.0.62.3:18081) PID=()
LOCAL_IP=127.0.62.60; UA_IP=127.0.62.70; CALLER_IP=127.0.62.80
PIDS=""; DRIVER_PID=""

log() { echo "[$(date +%H:%M:%S)] $*" | tee -a "$OUT/run.log" >&2; }
elapsed() { echo $(( $(date +%s) - T_START )); }
fits() { [ $(( $(elapsed) + $1 )) -le "$BUDGET" ]; }
stop_all() {
  [ -n "$DRIVER_PID" ] && kill -TERM -- "-$DRIVER_PID" 2>/dev/null
  for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
  for p in $PIDS; do for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done; kill -KILL "$p" 2>/dev/null; done
  PIDS=""
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT TERM
ticks() { # pid -> utime+stime of the process (clock ticks)
  awk '{s=substr($0,index($0,")")+2); split(s,f," "); print f[12]+f[13]}' "/proc/$1/stat" 2>/dev/null || echo 0
}
listening() { ss "-ln${1:0:1}" 2>/dev/null | awk '{print $4}' | grep -qx "$2:$3"; }
wait_listen() { # pid ip port
  for _ in $(seq 1 150); do
    listening udp "$2" "$3" && listening tcp "$2" "$3" && return 0
    kill -0 "$1" 2>/dev/null || return 1; sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------- build (a private copy of src/)
if [ -z "${FLOWGATE_DIST:-}" ]; then
  B="$OUT/build"; mkdir -p "$B"
  cp -r "$ROOT/src" "$ROOT/package.json" "$ROOT/tsconfig.json" "$ROOT/tsconfig.build.json" "$B/"
  ln -sfn "$ROOT/node_modules" "$B/node_modules"
  log "building flowgate from the work tree's src/ into $B/dist"
  (cd "$B" && "$ROOT/node_modules/.bin/tsc" -p tsconfig.build.json) >"$OUT/build.log" 2>&1
  FLOWGATE_DIST="$B/dist"
fi
FG_MAIN="$FLOWGATE_DIST/cli/main.js"
[ -f "$FG_MAIN" ] || { echo "no $FG_MAIN (see $OUT/build.log)" >&2; exit 1; }
{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"; echo "nproc=$(nproc)"
  echo "cpu=$(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "node=$(node -v)"; echo "sipp=$(sipp -v 2>/dev/null | grep -o 'v[0-9][0-9.]*[^ ]*' | head -1)"
  echo "git_head=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
  echo "hep_proto=$HEP_PROTO"; echo "backend=$FG_BACKEND"; echo "step_secs=$STEP_SECS"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.env"

# ---------------------------------------------------------------- set-ups
# The collector: by default bench/capture/sink.ts (HEP_SINK=count), which receives, checks and
# counts every packet (and takes some CPU from the proxy on a small machine); or a socket that
# never reads (HEP_SINK=drop: a collector on another host costs the proxy its sends only; here the
# kernel drops what the full queue cannot take).
start_sink() {
  if [ "$HEP_SINK" = count ]; then
    setsid node --import "$ROOT/node_modules/tsx/dist/esm/index.mjs" "$HERE/sink.ts" "$HEP_PROTO" "$HEP_IP" "$HEP_PORT" "$OUT/sink.txt" \
      >"$OUT/sink.log" 2>&1 </dev/null &
  else
    setsid python3 -c '
import socket, sys, time
p = socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM
s = socket.socket(socket.AF_INET, p)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.bind((sys.argv[2], int(sys.argv[3])))
if p == socket.SOCK_STREAM:
    s.listen(8)
    conns = []
    while True:
        c, _ = s.accept()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        conns.append(c)
while True:
    time.sleep(3600)
' "$HEP_PROTO" "$HEP_IP" "$HEP_PORT" >"$OUT/sink.log" 2>&1 </dev/null &
  fi
  PIDS="$PIDS $!"
  for _ in $(seq 1 100); do listening "$HEP_PROTO" "$HEP_IP" "$HEP_PORT" && return 0; sleep 0.1; done
  echo "the HEP sink did not start: $(cat "$OUT/sink.log")" >&2; return 1
}
start_setup() { # off|on
  local s=$1 dir="$OUT/$1" add=()
  mkdir -p "$dir/data"
  [ "$s" = on ] && add=(-e "/^    modules:\$/a\\      siptrace: { duplicate_uri: $HEP_PROTO:$HEP_IP:$HEP_PORT, hep_capture_id: 62 }")
  sed -e "s/@EDGE_IP@/${EIP[$s]}/g; s/@EDGE_PORT@/$PORT/g; s/@WS_PORT@/$WSP/g; s/@REG_IP@/${RIP[$s]}/g" \
      -e "s/@REG_PORT@/$PORT/g; s/@MGMT@/${MGMT[$s]}/g; s/@BACKEND@/$FG_BACKEND/g" "${add[@]}" \
      "$ROOT/bench/chain/one.yaml.in" | { if [ "$FG_BACKEND" = memory ]; then sed '/path: location.db/d'; else cat; fi; } \
      >"$dir/one.yaml"
  setsid node "$FG_MAIN" start -c "$dir/one.yaml" --data-dir "$dir/data" >"$dir/flowgate.log" 2>"$dir/flowgate.err" </dev/null &
  PID[$s]=$!; PIDS="$PIDS ${PID[$s]}"
  wait_listen "${PID[$s]}" "${EIP[$s]}" "$PORT" && wait_listen "${PID[$s]}" "${RIP[$s]}" "$PORT" \
    || { log "set-up $s did not start:"; cat "$dir/flowgate.err" >&2; return 1; }
}

# step SUITE SETUP RATE [label] -> STEP_OK, appends a line to steps.txt
step() {
  local suite=$1 s=$2 r=$3 label=${4:-} f k0 k1 t0 t1 line ok us n
  f="$OUT/$suite-$s-$r${label:+-$label}.txt"
  k0=$(ticks "${PID[$s]}"); t0=$(date +%s.%N)
  case $suite in
    register)
      RATES=$r STEP_SECS=$STEP_SECS DEADLINE=100000 LOCAL_IP=$LOCAL_IP OUT="$f.d" \
        setsid bash "$BENCH/bench.sh" "${EIP[$s]}" "$PORT" udp >"$f" 2>&1 </dev/null & ;;
    call)
      RATES=$r STEP_SECS=$STEP_SECS DEADLINE=100000 REG_RATE=$CALL_REG_RATE UA_IP=$UA_IP CALLER_IP=$CALLER_IP OUT="$f.d" \
        setsid bash "$BENCH/callbench.sh" "${EIP[$s]}" "$PORT" "${RIP[$s]}" "$PORT" tcp >"$f" 2>&1 </dev/null & ;;
  esac
  DRIVER_PID=$!; wait "$DRIVER_PID"; DRIVER_PID=""
  k1=$(ticks "${PID[$s]}"); t1=$(date +%s.%N)
  line=$(grep -E '^(register_rate_udp|call_rate)=' "$f" | tail -1)
  ok=0; [[ "$line" == *"=$r/s failed=0"* ]] && ok=1
  # operations in the step: REGISTERs (bench.sh) or calls, plus their REGISTERs (callbench.sh: 2 per UA)
  n=$(( r * STEP_SECS ))
  us=$(echo "($k1 - $k0) * 10000 / $n" | bc)   # 100 ticks/s: ticks * 10 000 µs / operations
  STEP_OK=$ok
  echo "$suite $s rate=$r${label:+ $label} $([ $ok = 1 ] && echo PASS || echo FAIL) cpu_ticks=$(( k1 - k0 )) cpu_us_per_op=$us wall=$(echo "$t1 - $t0" | bc | cut -c1-5)s | $(grep -E '^step rate=' "$f" | tail -1 | cut -c1-160)" \
    | tee -a "$OUT/steps.txt" >&2
  sleep 1
}

declare -A BEST=() FAIL=() DONE=()
run_suite() { # register|call
  local suite=$1 rates est order=(off on) i=0 s r mid
  if [ "$suite" = register ]; then rates=$REG_RATES; est=$(( STEP_SECS + 4 )); else rates=$CALL_RATES; est=$(( STEP_SECS * 2 + 10 )); fi
  for s in off on; do BEST[$s]=0; FAIL[$s]=""; DONE[$s]=0; done
  for s in off on; do step "$suite" "$s" "$WARMUP_RATE" warmup; done
  for r in $rates; do
    if [ $(( i % 2 )) = 0 ]; then order=(off on); else order=(on off); fi
    i=$(( i + 1 ))
    for s in "${order[@]}"; do
      [ "${DONE[$s]}" = 1 ] && continue
      fits "$est" || { log "budget: $suite $s rate $r skipped"; DONE[$s]=1; continue; }
      step "$suite" "$s" "$r"
      if [ "$STEP_OK" = 1 ]; then BEST[$s]=$r; else FAIL[$s]=$r; DONE[$s]=1; fi
    done
    [ "${DONE[off]}" = 1 ] && [ "${DONE[on]}" = 1 ] && break
  done
  for s in off on; do
    [ -n "${FAIL[$s]}" ] && [ "${BEST[$s]}" -gt 0 ] || continue
    mid=$(( (BEST[$s] + FAIL[$s]) / 2 / 50 * 50 ))
    [ "$mid" -gt "${BEST[$s]}" ] && fits "$est" || continue
    step "$suite" "$s" "$mid" midpoint
    [ "$STEP_OK" = 1 ] && BEST[$s]=$mid
  done
  local unit=register_rate; [ "$suite" = call ] && unit=call_rate
  echo "${unit}_capture_off=${BEST[off]}/s" >>"$OUT/result.txt"
  echo "${unit}_capture_on=${BEST[on]}/s" >>"$OUT/result.txt"
  if [ "${BEST[off]}" -gt 0 ]; then
    echo "${suite}_ratio_on_off=$(echo "scale=3; ${BEST[on]} / ${BEST[off]}" | bc | sed 's/^\./0./')" >>"$OUT/result.txt"
    echo "${suite}_capture_cost=$(echo "scale=1; (${BEST[off]} - ${BEST[on]}) * 100 / ${BEST[off]}" | bc)% ((off - on) / off)" >>"$OUT/result.txt"
  fi
  # CPU per operation at every rate both set-ups passed (not the warm-up)
  awk -v suite="$suite" '$1 == suite && $4 == "PASS" && $3 ~ /^rate=/ && $0 !~ / warmup / {
      split($3, a, "="); split($6, c, "="); cpu[$2, a[2]] = c[2]; rates[a[2]] = 1 }
    END { n = 0; for (r in rates) if (((("off", r) in cpu)) && ((("on", r) in cpu))) { off += cpu["off", r]; on += cpu["on", r]; n++ }
      if (n > 0) printf "%s_cpu_per_op_off=%dus %s_cpu_per_op_on=%dus (+%.1f%%, mean over %d rates both passed)\n",
        suite, off / n, suite, on / n, (on - off) * 100 / off, n }' "$OUT/steps.txt" >>"$OUT/result.txt"
}

log "capture bench: suites=$SUITES budget=${BUDGET}s out=$OUT dist=$FLOWGATE_DIST hep=$HEP_PROTO"
start_sink || exit 1
start_setup off || exit 1
start_setup on || exit 1
sleep 1
for suite in $SUITES; do run_suite "$suite"; done
curl -s -m 5 -H "$AUTHZ" "http://${MGMT[on]}/v1/capture" >"$OUT/on/capture.json" 2>/dev/null
sleep 1.5
SENT=$(grep -o '"sent": [0-9]*' "$OUT/on/capture.json" | awk '{n += $2} END {print n + 0}')
DROPPED=$(grep -o '"dropped": [0-9]*' "$OUT/on/capture.json" | awk '{n += $2} END {print n + 0}')
echo "hep_sink($HEP_SINK): $(cat "$OUT/sink.txt" 2>/dev/null) | flowgate (both elements): sent=$SENT dropped=$DROPPED" >>"$OUT/result.txt"
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg) total_s=$(elapsed)" >>"$OUT/machine.env"
log "done in $(elapsed)s; $OUT"
cat "$OUT/machine.env" "$OUT/result.txt"
