# shellcheck shell=bash
# The `soak` suite of bench/chain/run.sh (issue 12, "How it is proven", first bullet), sourced by it:
# it uses run.sh's globals and helpers (OUT, ROOT, BENCH, EIP/NAME, PORT, MON, MGMT_URLS, FG_PIDS,
# DRIVER_PID, start_setup, stop_all, wait_quiet, fits, log, sock_drops, log_errors, busy_ticks,
# tree_ticks, AUTHZ).
#
# 10 000 outbound users (../shared/bench/sipp/users.csv) refresh their registrations over UDP
# (bench/soak/reg_refresh.xml: the same user, +sip.instance and reg-id=1 every time; each user
# every 10000/SOAK_RATE s) at SOAK_RATE REGISTER/s for SOAK_SECS seconds through edge and
# registrar, one set-up after the other (SOAK_SETUPS, Kamailio first), each started fresh:
#   kk  Kamailio edge + registrar (the seed configs, ../shared/kamailio/kamailio.sh)
#   f1  flowgate edge + registrar in one process (one.yaml.in: the default configuration, as
#       `npm start` runs it)
#   ff  flowgate edge process + registrar process (edge.yaml.in, registrar.yaml.in)
# flowgate runs under `node --import bench/soak/gc-probe.mjs` (perf_hooks: every GC pause by kind,
# event-loop delay, memoryUsage every 10 s; nothing in src/ changes), writing gc-<process>.json.
# Per set-up, in OUT/soak/<setup>/: sipp's statistics every 5 s (sipp/stat.csv: calls, failures,
# retransmissions, the response-time repartition 5/10/20/50/100/200/500/1000 ms), every response
# time (sipp/*_rtt.csv, SOAK_RTT=1), errors (sipp/errors.log), RSS/PSS/CPU of the edge and
# registrar process trees (and of sipp as `driver`) every SOAK_INTERVAL seconds (mem.csv,
# bench/soak/memmon.py over procmon.py's readers), UDP socket drops, log warnings/errors, flowgate
# /v1/stats and Kamailio's tm.stats, shmmem (kam-<role>.txt) and the bindings of 10 users
# (kam-registrar-ul.txt) at the end, run.env. bench/soak/report.ts prints the summary and the final lines.
# Env: SOAK_SETUPS="kk f1" SOAK_RATE=2500 SOAK_SECS=300 SOAK_EXPIRES=600 SOAK_INTERVAL=5 SOAK_RTT=1
#      SOAK_USERS=<sipp injection file: SEQUENTIAL, then user;instance-uuid lines>

SOAK_SETUPS="${SOAK_SETUPS:-kk f1}"; SOAK_RATE="${SOAK_RATE:-2500}"; SOAK_SECS="${SOAK_SECS:-300}"
SOAK_EXPIRES="${SOAK_EXPIRES:-600}"; SOAK_INTERVAL="${SOAK_INTERVAL:-5}"; SOAK_RTT="${SOAK_RTT:-1}"
SOAK_USERS="${SOAK_USERS:-$BENCH/sipp/users.csv}"
SOAK_HERE="$ROOT/bench/soak"
SOAK_CLIENT_IP=127.0.61.63

soak_one() { # setup
  local s=$1 dir="$OUT/soak/$1" m b0 b1 k0 k1 pid mp rc t0 t1 u rtt=()
  m=$(( SOAK_RATE * SOAK_SECS ))
  mkdir -p "$dir/sipp"
  # an OUT reused from an earlier run keeps its sipp files: the report reads the one response-time
  # file in sipp/, so an old one must not be there beside the new
  rm -f "$dir"/sipp/*_rtt.csv "$dir"/sipp/errors.log "$dir"/gc-*.json "$dir"/stats-*.json
  # the probe is a node flag: Kamailio set-ups ignore it; {name} = the process's config (one, edge, registrar)
  export SOAK_GC_OUT="$dir/gc-{name}.json"
  # SOAK_NODE_FLAGS: extra node/V8 flags for the flowgate processes (to compare GC settings)
  # shellcheck disable=SC2086
  if ! start_setup "$s" "$dir" ${SOAK_NODE_FLAGS:-} --import "$SOAK_HERE/gc-probe.mjs"; then
    unset SOAK_GC_OUT
    log "soak ${NAME[$s]}: set-up did not start (see $dir)"; echo "status=start_failed" >"$dir/run.env"; stop_all; return
  fi
  unset SOAK_GC_OUT
  wait_quiet
  [ "$SOAK_RTT" = 1 ] && rtt=(-trace_rtt -rtt_freq 1000)
  log "soak ${NAME[$s]}: $SOAK_RATE REGISTER/s for ${SOAK_SECS}s ($m refreshes of $(( $(wc -l <"$SOAK_USERS") - 1 )) users, UDP) | $QUIET_NOTE"
  b0=$(busy_ticks); k0=0; for pid in $FG_PIDS $(cat "$dir"/kam/*.pid 2>/dev/null); do k0=$(( k0 + $(tree_ticks "$pid") )); done
  t0=$(date +%s.%N)
  # sipp in its own session (DRIVER_PID: stop_all ends it), in sipp/ where -trace_rtt writes its file
  setsid bash -c 'cd "$1" && shift && exec "$@"' _ "$dir/sipp" \
    timeout $(( SOAK_SECS + 150 )) sipp "${EIP[$s]}:$PORT" -sf "$SOAK_HERE/reg_refresh.xml" -inf "$SOAK_USERS" \
    -key domain example.com -key expires "$SOAK_EXPIRES" -i "$SOAK_CLIENT_IP" -t u1 -r "$SOAK_RATE" -rp 1000 -m "$m" \
    -buff_size 4194304 -timeout "$(( SOAK_SECS + 120 ))s" -nostdin -trace_stat -stf "$dir/sipp/stat.csv" -fd 5 \
    -trace_err -error_file "$dir/sipp/errors.log" "${rtt[@]}" >"$dir/sipp/sipp.out" 2>&1 </dev/null &
  DRIVER_PID=$!
  # shellcheck disable=SC2086
  python3 "$SOAK_HERE/memmon.py" --procmon "$BENCH/tools/procmon.py" --interval "$SOAK_INTERVAL" $MON driver=$DRIVER_PID \
    >"$dir/mem.csv" 2>"$dir/mem.err" &
  mp=$!
  wait "$DRIVER_PID"; rc=$?; DRIVER_PID=""
  t1=$(date +%s.%N); b1=$(busy_ticks)
  kill -TERM "$mp" 2>/dev/null; wait "$mp" 2>/dev/null
  k1=0; for pid in $FG_PIDS $(cat "$dir"/kam/*.pid 2>/dev/null); do k1=$(( k1 + $(tree_ticks "$pid") )); done
  for u in $MGMT_URLS; do curl -s -m 5 -H "$AUTHZ" "${u#*=}/v1/stats" >"$dir/stats-${u%%=*}.json" 2>/dev/null; done
  for u in edge registrar; do # Kamailio at the end: transactions (tm.stats), shared memory, bindings (ul.lookup)
    [ -S "$dir/kam/$u.run/kamailio_ctl" ] || continue
    { kamcmd -s "unixs:$dir/kam/$u.run/kamailio_ctl" tm.stats
      kamcmd -s "unixs:$dir/kam/$u.run/kamailio_ctl" core.shmmem; } >"$dir/kam-$u.txt" 2>&1
    # ul.dump of 10 000 contacts overflows binrpc's reply: look up the first 10 users instead (1 contact each)
    if [ "$u" = registrar ]; then
      for usr in $(sed -n '2,11p' "$SOAK_USERS" | cut -d';' -f1); do
        kamcmd -s "unixs:$dir/kam/$u.run/kamailio_ctl" ul.lookup location "$usr" 2>&1
      done >"$dir/kam-registrar-ul.txt"
    fi
  done
  {
    echo "status=done"; echo "suite=soak"; echo "setup=$s"; echo "name=${NAME[$s]}"
    echo "rate=$SOAK_RATE"; echo "secs=$SOAK_SECS"; echo "calls_planned=$m"; echo "expires=$SOAK_EXPIRES"
    echo "users=$(( $(wc -l <"$SOAK_USERS") - 1 ))"; echo "users_file=$SOAK_USERS"; echo "interval=$SOAK_INTERVAL"
    echo "sipp_rc=$rc"; echo "wall_s=$(echo "$t1 - $t0" | bc)"; echo "hz=$(getconf CLK_TCK)"
    echo "busy_ticks=$(( b1 - b0 ))"; echo "setup_ticks=$(( k1 - k0 ))"
    echo "sock_drops=$(sock_drops)"; echo "log_errors=$(log_errors "$dir")"; echo "mon=$MON"; echo "quiet=$QUIET_NOTE"
  } >"$dir/run.env"
  log "soak ${NAME[$s]}: sipp rc=$rc | $(awk -F';' 'NR==1{for(i=1;i<=NF;i++)c[$i]=i} NR>1{l=$0} END{split(l,f,";"); printf "succ=%s failed=%s retrans=%s", f[c["SuccessfulCall(C)"]], f[c["FailedCall(C)"]], f[c["Retransmissions(C)"]]}' "$dir/sipp/stat.csv" 2>/dev/null) | udp socket drops: $(sock_drops) | $(log_errors "$dir")"
  stop_all # SIGTERM: the gc probe writes its final summary as flowgate exits
  sleep 1
}

soak_suite() {
  local s
  mkdir -p "$OUT/soak"
  [ -f "$SOAK_USERS" ] || { log "soak: no users file $SOAK_USERS"; return; }
  SOAK_USERS="$(cd "$(dirname "$SOAK_USERS")" && pwd)/$(basename "$SOAK_USERS")" # sipp runs in OUT/soak/<setup>/sipp
  for s in $SOAK_SETUPS; do
    case $s in kk|f1|ff) ;; *) log "soak: unknown set-up $s (kk, f1, ff)"; continue ;; esac
    if ! fits $(( SOAK_SECS + 30 )); then
      log "budget: skipping soak ${NAME[$s]} (BUDGET=$BUDGET s, ${SOAK_SECS}s run)"; mkdir -p "$OUT/soak/$s"; echo "status=skipped_budget" >"$OUT/soak/$s/run.env"; continue
    fi
    soak_one "$s"
  done
}
