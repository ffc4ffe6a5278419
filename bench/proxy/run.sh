#!/usr/bin/env bash
# Proxied call rate (issue 3 §5): sipp UAC -> stateful proxy -> sipp UAS, over UDP on loopback, for
# flowgate (bench/proxy/flowgate-proxy.ts, a separate Node process) and Kamailio (Debian 5.6,
# bench/proxy/kamailio-proxy.cfg, children=2), side by side in one run, alternately.
#   bench/proxy/run.sh            (npm run bench:proxy)
# A call is INVITE/100/180/200/ACK/BYE/200 (bench/proxy/uac-call.xml against uas-call.xml, the
# interop scenarios with the 180 optional and a UAS that answers a retransmitted BYE), Record-Routed, ACK and BYE loose-routed through the proxy. The rate is ramped in
# steps of STEP_SECS seconds (-r R -rp 1000 -m R*STEP_SECS), as ../shared/bench/callbench.sh does: a
# step passes iff the caller's sipp exits 0 with every call successful (failed=0) and the completed-
# call rate (successful / elapsed) is >= 95% of R. Each target ramps until its first failing step,
# then (time permitting) the midpoint between its last pass and first failure is tried. The two
# targets take turns step by step, so machine noise hits both alike.
# Bounded: the whole run stops starting steps after DEADLINE seconds (default 170) and stops every
# process it started (by PID) on exit.
# Final lines:  flowgate_call_rate=NNN/s  kamailio_call_rate=NNN/s  ratio=0.xx (flowgate/kamailio)
# Env (optional):
#   RATES="500 1000 ..."  STEP_SECS=4  DEADLINE=170  HOLD_MS=0  TARGETS="flowgate kamailio"
#   WARMUP_RATE=200   one uncounted step per target first
#   PROFILE=1   run flowgate under `node --cpu-prof` and print where its time went (summary.ts)
#   OUT=<dir>   sipp statistics, logs, profiles (default: a new /tmp/proxybench.XXXXXX)
# Requires: sipp (sip-tester 3.6.1), node + tsx (npm ci), kamailio (installed via
# ../shared/kamailio/kamailio.sh install when missing), ss, bc, python3 (procmon, optional).
set -u
HERE="$(cd "$(dirname "$0")" && pwd)"; ROOT="$(cd "$HERE/../.." && pwd)"
SHARED="${FLOWGATE_SHARED_DIR:-$ROOT/../shared}"
RATES="${RATES:-500 1000 1250 1500 1750 2000 2500 3000 4000}"
STEP_SECS="${STEP_SECS:-4}"; DEADLINE="${DEADLINE:-170}"; HOLD_MS="${HOLD_MS:-0}"
TARGETS="${TARGETS:-flowgate kamailio}"; PROFILE="${PROFILE:-0}"
OUT="${OUT:-$(mktemp -d /tmp/proxybench.XXXXXX)}"; mkdir -p "$OUT"
UAC_IP=127.0.60.10
declare -A PIP=([flowgate]=127.0.60.1 [kamailio]=127.0.60.1)
declare -A PPORT=([flowgate]=25060 [kamailio]=25062)
declare -A UIP=([flowgate]=127.0.60.2 [kamailio]=127.0.60.3)
declare -A UPORT=([flowgate]=25070 [kamailio]=25072)
declare -A PPID_OF=() BEST=() FIRST_FAIL=() DONE=() CPU_S=()
T_START=$(date +%s.%N)
CHILDREN=""

elapsed() { echo "$(date +%s.%N) - $T_START" | bc; }
log() { echo "$*"; }

stop_tree() { # pid: TERM the process and its children, KILL what is left after 5 s
  local pid=$1 kids i k
  kill -0 "$pid" 2>/dev/null || return 0
  kids="$(ps -o pid= --ppid "$pid" 2>/dev/null | tr '\n' ' ')"
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  for k in $kids; do kill -0 "$k" 2>/dev/null && kill -KILL "$k" 2>/dev/null; done
  wait "$pid" 2>/dev/null
  return 0
}
cleanup() {
  for p in $CHILDREN; do kill -0 "$p" 2>/dev/null && kill -TERM "$p" 2>/dev/null; done
  for t in "${!PPID_OF[@]}"; do stop_tree "${PPID_OF[$t]}"; done
  for p in $CHILDREN; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

listening() { ss -lnu 2>/dev/null | awk '{print $4}' | grep -qx "$1:$2"; }

command -v sipp >/dev/null || { echo "sipp not installed (apt-get install -y sip-tester)" >&2; exit 2; }
for t in $TARGETS; do
  for a in "${PIP[$t]}:${PPORT[$t]}" "${UIP[$t]}:${UPORT[$t]}"; do
    if listening "${a%:*}" "${a#*:}"; then echo "udp $a is in use: stop what listens there" >&2; exit 2; fi
  done
done

start_flowgate() {
  local prof=()
  [ "$PROFILE" = 1 ] && prof=(--cpu-prof --cpu-prof-dir="$OUT/cpuprof")
  (cd "$ROOT" && exec node "${prof[@]}" --import tsx "$HERE/flowgate-proxy.ts" \
    "${PIP[flowgate]}:${PPORT[flowgate]}" "${UIP[flowgate]}:${UPORT[flowgate]}") >"$OUT/flowgate.log" 2>&1 &
  PPID_OF[flowgate]=$!
}

start_kamailio() {
  if ! command -v kamailio >/dev/null; then
    bash "$SHARED/kamailio/kamailio.sh" install || { echo "cannot install kamailio" >&2; return 1; }
  fi
  sed -e "s/@PROXY_IP@/${PIP[kamailio]}/g; s/@PROXY_PORT@/${PPORT[kamailio]}/g" \
      -e "s/@UAS_IP@/${UIP[kamailio]}/g; s/@UAS_PORT@/${UPORT[kamailio]}/g" "$HERE/kamailio-proxy.cfg" >"$OUT/kamailio.cfg"
  kamailio -c -f "$OUT/kamailio.cfg" >"$OUT/kamailio.check" 2>&1 || { echo "kamailio config check failed: $OUT/kamailio.check" >&2; return 1; }
  mkdir -p "$OUT/kamailio.run"
  setsid kamailio -f "$OUT/kamailio.cfg" -DD -E -m 256 -Y "$OUT/kamailio.run" >"$OUT/kamailio.log" 2>&1 </dev/null &
  PPID_OF[kamailio]=$!
}

wait_up() { # target
  local t=$1 i
  for i in $(seq 1 200); do
    listening "${PIP[$t]}" "${PPORT[$t]}" && { log "$t up on udp ${PIP[$t]}:${PPORT[$t]} (pid ${PPID_OF[$t]})"; return 0; }
    kill -0 "${PPID_OF[$t]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "$t did not come up; see $OUT/$t.log" >&2; return 1
}

# UDP datagrams the kernel dropped because a socket receive buffer was full (all sockets)
udp_rcvbuf_errors() { awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) if (h[i] == "RcvbufErrors") print $i } $1 == "Udp:" && $2 !~ /^[0-9]+$/ { for (i = 2; i <= NF; i++) h[i] = $i }' /proc/net/snmp 2>/dev/null || echo 0; }

statline() { # csv -> "succ fail retrans elapsed"
  awk -F';' 'NR>1{l=$0} END{n=split(l,f,";"); split(f[1],a,"\t"); split(f[3],b,"\t"); printf "%d %d %d %.3f", f[16], f[18], f[58], b[3]-a[3]}' "$1"; }

MONPID=""
run_step() { # target rate -> STEP_OK
  local t=$1 r=$2 n=$(( $2 * STEP_SECS )) tag="$1_$2" uas uac crc mon="" cs cf cx ce us uf ux ue ach drops0 drops
  rm -f "$OUT/uas_$tag.csv" "$OUT/uac_$tag.csv"
  drops0=$(udp_rcvbuf_errors)
  local log0=0 fgstats=""
  [ "$t" = flowgate ] && log0=$(wc -l <"$OUT/flowgate.log")
  timeout $(( STEP_SECS * 3 + 40 )) sipp -sf "$HERE/uas-call.xml" -t u1 -i "${UIP[$t]}" -p "${UPORT[$t]}" -bind_local \
    -mp $(( UPORT[$t] + 100 )) -cp $(( UPORT[$t] + 200 )) -m "$n" -nostdin -buff_size 4194304 \
    -timeout "$(( STEP_SECS * 3 + 30 ))s" -trace_err -error_file "$OUT/uas_$tag.err" \
    -trace_stat -stf "$OUT/uas_$tag.csv" -fd 1 >"$OUT/uas_$tag.out" 2>&1 &
  uas=$!; CHILDREN="$CHILDREN $uas"
  for _ in $(seq 1 50); do listening "${UIP[$t]}" "${UPORT[$t]}" && break; sleep 0.05; done
  timeout $(( STEP_SECS + 30 )) sipp "${PIP[$t]}:${PPORT[$t]}" -sf "$HERE/uac-call.xml" -s bench -t u1 \
    -i "$UAC_IP" -p 25090 -bind_local -mp 25190 -cp 25290 -r "$r" -rp 1000 -m "$n" -d "$HOLD_MS" \
    -recv_timeout 8000 -buff_size 4194304 -timeout "$(( STEP_SECS + 20 ))s" -nostdin \
    -trace_err -error_file "$OUT/uac_$tag.err" -trace_stat -stf "$OUT/uac_$tag.csv" -fd 1 >"$OUT/uac_$tag.out" 2>&1 &
  uac=$!; CHILDREN="$CHILDREN $uac"
  if [ -f "$SHARED/bench/tools/procmon.py" ] && command -v python3 >/dev/null; then
    python3 "$SHARED/bench/tools/procmon.py" --interval 0.5 "$t=${PPID_OF[$t]}" "uas=$(pgrep -P "$uas" | head -1 || echo "$uas")" >"$OUT/mon_$tag.txt" 2>&1 &
    MONPID=$!
  fi
  wait "$uac"; crc=$?
  drops=$(( $(udp_rcvbuf_errors) - drops0 ))
  if [ "$t" = flowgate ]; then # worst event-loop delay / GC pause, last heap, during the step
    fgstats=" $(tail -n +$(( log0 + 1 )) "$OUT/flowgate.log" | awk '/^stats / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v = kv[2] + 0
        if (kv[1] == "eld_max" && v > e) e = v; if (kv[1] == "gc_max" && v > g) g = v; if (kv[1] == "heap") h = kv[2] } }
      END { printf "eld_max=%sms gc_max=%sms heap=%s", e + 0, g + 0, h }')"
  fi
  if [ -n "$MONPID" ]; then kill -TERM "$MONPID" 2>/dev/null; wait "$MONPID" 2>/dev/null; MONPID=""
    # proxy: cpu (of one core) and RSS; the UAS sipp: cpu, to see when sipp itself is the bottleneck
    mon=" | $(awk -v t="$t" '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
        n = $1; sub(":", "", n);
        if (n == t) printf "%s cpu_avg=%s cpu_s=%s rss=%s ", n, v["cpu_avg"], v["cpu_s"], v["rss_sum_max"];
        else printf "%s cpu_avg=%s ", n, v["cpu_avg"] }' "$OUT/mon_$tag.txt")"
    CPU_S[$tag]=$(awk -v t="$t:" '$1 == t { for (i = 2; i <= NF; i++) if ($i ~ /^cpu_s=/) { sub("cpu_s=", "", $i); print $i } }' "$OUT/mon_$tag.txt")
  fi
  for _ in $(seq 1 30); do kill -0 "$uas" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$uas" 2>/dev/null && kill -TERM "$uas" 2>/dev/null; wait "$uas" 2>/dev/null
  CHILDREN=""
  read -r cs cf cx ce <<<"$(statline "$OUT/uac_$tag.csv" 2>/dev/null || echo '0 0 0 0')"
  read -r us uf ux ue <<<"$(statline "$OUT/uas_$tag.csv" 2>/dev/null || echo '0 0 0 0')"
  ach=$(echo "scale=3; e = $ce - $HOLD_MS / 1000; if (e > 0) $cs / e else 0" | bc | cut -d. -f1); ach=${ach:-0}
  STEP_OK=0
  if [ "$crc" = 0 ] && [ "$cs" = "$n" ] && [ "$cf" = 0 ] && [ "$(echo "$ach >= 0.95 * $r" | bc)" = 1 ]; then STEP_OK=1; fi
  printf '%-8s step rate=%s/s n=%s: %s caller succ=%s failed=%s retrans=%s achieved=%s/s elapsed=%ss rc=%s udp_drops=%s | UAS succ=%s failed=%s%s\n' \
    "$t" "$r" "$n" "$([ $STEP_OK = 1 ] && echo PASS || echo FAIL)" "$cs" "$cf" "$cx" "$ach" "$ce" "$crc" "$drops" "$us" "$uf" "$mon$fgstats"
}

budget_ok() { [ "$(echo "$(elapsed) + $STEP_SECS + 10 <= $DEADLINE" | bc)" = 1 ]; }

log "proxybench: UAC $UAC_IP -> proxy -> UAS, UDP, step=${STEP_SECS}s, rates: $RATES, deadline=${DEADLINE}s, out=$OUT"
for t in $TARGETS; do
  case $t in
    flowgate) start_flowgate ;;
    kamailio) start_kamailio || { echo "kamailio_call_rate=unavailable"; exit 1; } ;;
    *) echo "unknown target $t" >&2; exit 2 ;;
  esac
  wait_up "$t" || exit 1
  BEST[$t]=0; FIRST_FAIL[$t]=""; DONE[$t]=0
done
sleep 1
# warm-up (not counted): JIT, caches, first allocations; the same short step for each target
for t in $TARGETS; do
  printf 'warm-up: '; run_step "$t" "${WARMUP_RATE:-200}"; sleep 1
done

for r in $RATES; do
  all_done=1
  for t in $TARGETS; do
    [ "${DONE[$t]}" = 1 ] && continue
    all_done=0
    if ! budget_ok; then log "deadline: skipping $t at $r/s"; DONE[$t]=1; continue; fi
    run_step "$t" "$r"
    if [ "$STEP_OK" = 1 ]; then BEST[$t]=$r; else FIRST_FAIL[$t]=$r; DONE[$t]=1; fi
    sleep 1
  done
  [ "$all_done" = 1 ] && break
done
# refine: the midpoint between the last pass and the first failure, alternately
for t in $TARGETS; do
  ff="${FIRST_FAIL[$t]}"; b="${BEST[$t]}"
  [ -n "$ff" ] && [ "$b" -gt 0 ] || continue
  mid=$(( (b + ff) / 2 / 50 * 50 ))
  if [ "$mid" -gt "$b" ] && budget_ok; then run_step "$t" "$mid"; [ "$STEP_OK" = 1 ] && BEST[$t]=$mid; sleep 1
  else log "$t: no midpoint step (deadline or granularity)"; fi
done

FG_PID="${PPID_OF[flowgate]:-0}"
for t in $TARGETS; do stop_tree "${PPID_OF[$t]}"; unset "PPID_OF[$t]"; done
if [ "$PROFILE" = 1 ] && [ -d "$OUT/cpuprof" ]; then
  # the main thread's profile (thread 0) is the one that matters; give it time to appear
  for _ in $(seq 1 100); do compgen -G "$OUT/cpuprof/CPU.*.$FG_PID.0.*.cpuprofile" >/dev/null && break; sleep 0.1; done
  sleep 0.5
  log "flowgate CPU profile (whole run, self time by function):"
  (cd "$ROOT" && node --import tsx "$HERE/summary.ts" "$OUT"/cpuprof/*.cpuprofile)
fi
log "proxybench: total_time=$(elapsed | cut -d. -f1)s out=$OUT"
# CPU cost per call at the highest rate every target passed (sipp shares the 2 cores, so the
# call rate saturates on sipp as much as on the proxy; the cost per call compares the proxies alone)
common=""
for r in $RATES; do
  ok=1; for t in $TARGETS; do [ "${BEST[$t]}" -ge "$r" ] || ok=0; done
  [ "$ok" = 1 ] && common=$r
done
if [ -n "$common" ]; then
  for t in $TARGETS; do
    c="${CPU_S[${t}_$common]:-}"
    [ -n "$c" ] && echo "${t}_cpu_per_call=$(echo "scale=1; $c * 1000000 / ($common * $STEP_SECS)" | bc)us (cpu time / calls at ${common}/s)"
  done
fi
for t in $TARGETS; do
  echo "${t}_call_rate=${BEST[$t]}/s"
done
if [[ " $TARGETS " == *" flowgate "* && " $TARGETS " == *" kamailio "* ]]; then
  if [ "${BEST[kamailio]}" -gt 0 ]; then echo "ratio=$(echo "scale=2; ${BEST[flowgate]} / ${BEST[kamailio]}" | bc | sed 's/^\./0./')"
  else echo "ratio=unknown"; fi
fi
