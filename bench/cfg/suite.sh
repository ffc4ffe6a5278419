# shellcheck shell=bash
# The `cfg` suite of bench/chain/run.sh (issue 11, "How it is proven": REGISTER and call rates with
# the .cfg form within 10 % of the TypeScript form, in one run), sourced by it: it uses run.sh's
# globals and helpers (OUT, ROOT, BENCH, SHARED, EIP/RIP/NAME, PORT, WSP, FG_MAIN, FG_PIDS, MON,
# SOCKS, MGMT_URLS, DRIVER_PID, LOCAL_IP, UA_IP, CALLER_IP, start_setup, start_flowgate,
# wait_listen, render, stop_all, wait_quiet, fits, log, sock_drops, log_errors, busy_ticks,
# tree_ticks, reverse, AUTHZ, ROUNDS).
#
# Two flowgate set-ups, edge process + registrar process each, the same elements in both:
#   ft  the TypeScript form: bench/chain/edge.yaml.in + registrar.yaml.in (the built-in edge and
#       registrar scripts; the YAML mirrors the seed files' settings), location store in memory as
#       the files' usrloc (db_mode 0)                       127.0.61.21 -> 127.0.61.22
#   fc  the .cfg form: ../shared/kamailio/edge.cfg.in and registrar.cfg.in rendered as kamailio.sh
#       renders them, run as `flowgate start -c edge.cfg` / `-c registrar.cfg`
#                                                           127.0.61.23 -> 127.0.61.24
# Per round, both benchmarks against both set-ups, the set-ups alternating in ABBA order (round 1:
# ft fc, round 2: fc ft, …), each run on a fresh set-up: REGISTER through the edge
# (../shared/bench/bench.sh udp) and calls through the registrar to outbound UAs
# (../shared/bench/callbench.sh tcp). Output in OUT/cfg/<register|call>/r<N>-<setup>/ (run.env,
# bench output, logs); bench/cfg/report.ts prints the rates, the medians and fc/ft.
# The TypeScript edge is the built-in one (not an open relay: its source-address checks are a little
# more work than the seed's @via[2] test); CFG_TS_SEED_STRICT=1 runs it with `edge.seed_strict`,
# the seed's own logic, for a script-for-script comparison.
# Env: CFG_BENCHES="register call"  CFG_REG_RATES / CFG_CALL_RATES (bench.sh / callbench.sh RATES;
#      default theirs)  CFG_STEP_SECS (default theirs, 5)  CFG_CALL_REG_RATE=$CALL_REG_RATE
#      CFG_TS_SEED_STRICT=0  (smoke test: ROUNDS=1 CFG_REG_RATES="100 200" CFG_CALL_RATES="20 40"
#      CFG_STEP_SECS=2 CFG_CALL_REG_RATE=200 bench/chain/run.sh cfg)

CFG_BENCHES="${CFG_BENCHES:-register call}"
CFG_TS_SEED_STRICT="${CFG_TS_SEED_STRICT:-0}"
CFG_CALL_REG_RATE="${CFG_CALL_REG_RATE:-$CALL_REG_RATE}"
EIP+=([ft]=127.0.61.21 [fc]=127.0.61.23)
RIP+=([ft]=127.0.61.22 [fc]=127.0.61.24)
NAME+=([ft]="flowgate-ts" [fc]="flowgate-cfg")

# start_setup with the two set-ups of this suite; every other set-up as run.sh starts it
eval "$(declare -f start_setup | sed '1s/^start_setup /cfg_start_setup_base /')"
start_setup() {
  local s=$1 dir=$2; shift 2
  case $s in
    ft) cfg_start_ts "$dir" "$@" ;;
    fc) cfg_start_cfg "$dir" "$@" ;;
    *) cfg_start_setup_base "$s" "$dir" "$@" ;;
  esac
}

cfg_start_ts() { # dir [node flags]
  local dir=$1 e=${EIP[ft]} r=${RIP[ft]} ep rp strict=()
  shift
  mkdir -p "$dir"; MON=""; SOCKS="$e:$PORT $r:$PORT"
  [ "$CFG_TS_SEED_STRICT" = 1 ] && strict=(-e 's/^      flow_timer: 20$/      flow_timer: 20\n      seed_strict: true/')
  render registrar.yaml.in "$dir/registrar.yaml" -e "s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$r:18082/g; s/@BACKEND@/memory/g"
  render edge.yaml.in "$dir/edge.yaml" -e "s/@EDGE_IP@/$e/g; s/@EDGE_PORT@/$PORT/g; s/@WS_PORT@/$WSP/g; s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g; s/@MGMT@/$e:18081/g" "${strict[@]}"
  start_flowgate "$dir" registrar "$dir/registrar.yaml" "$@"; rp=$FG_PID
  start_flowgate "$dir" edge "$dir/edge.yaml" "$@"; ep=$FG_PID
  wait_listen "$rp" "$r" "$PORT" || { cat "$dir/registrar.err" >&2; return 1; }
  wait_listen "$ep" "$e" "$PORT" || { cat "$dir/edge.err" >&2; return 1; }
  MON="edge=$ep registrar=$rp"; MGMT_URLS="edge=http://$e:18081 registrar=http://$r:18082"
  sleep 1
}

cfg_start_cfg() { # dir [node flags]
  local dir=$1 e=${EIP[fc]} r=${RIP[fc]} ep rp role
  shift
  mkdir -p "$dir"; MON=""; SOCKS="$e:$PORT $r:$PORT"; MGMT_URLS=""
  for role in edge registrar; do # kamailio.sh's render(), the same sed expressions
    sed -e "s/@EDGE_IP@/$e/g; s/@EDGE_PORT@/$PORT/g; s/@WS_PORT@/$WSP/g" \
        -e "s/@REG_IP@/$r/g; s/@REG_PORT@/$PORT/g" -e "s|@DBTEXT_DIR@|$dir/dbtext|g" \
        "$SHARED/kamailio/$role.cfg.in" >"$dir/$role.cfg"
  done
  # the files' ctl module keeps the management API off (no /v1/stats): MGMT_URLS stays empty
  start_flowgate "$dir" registrar "$dir/registrar.cfg" "$@"; rp=$FG_PID
  start_flowgate "$dir" edge "$dir/edge.cfg" "$@"; ep=$FG_PID
  wait_listen "$rp" "$r" "$PORT" || { cat "$dir/registrar.err" >&2; return 1; }
  wait_listen "$ep" "$e" "$PORT" || { cat "$dir/edge.err" >&2; return 1; }
  MON="edge=$ep registrar=$rp"
  sleep 1
}

# cfg_run BENCH SETUP ROUND: fresh set-up, one shared benchmark, stop (as run.sh's run_one)
cfg_run() {
  local b=$1 s=$2 round=$3 dir="$OUT/cfg/$1/r$3-$2" cmd t0 t1 b0 b1 k0 k1 pid line u env=()
  mkdir -p "$dir"
  if ! start_setup "$s" "$dir"; then
    log "cfg $b round $round ${NAME[$s]}: set-up did not start (see $dir)"; echo "status=start_failed" >"$dir/run.env"; stop_all; return
  fi
  wait_quiet
  [ -n "${CFG_STEP_SECS:-}" ] && env+=(STEP_SECS="$CFG_STEP_SECS")
  case $b in
    register)
      [ -n "${CFG_REG_RATES:-}" ] && env+=(RATES="$CFG_REG_RATES")
      cmd=(env "${env[@]}" bash "$BENCH/bench.sh" "${EIP[$s]}" "$PORT" udp) ;;
    call)
      [ -n "${CFG_CALL_RATES:-}" ] && env+=(RATES="$CFG_CALL_RATES")
      cmd=(env "${env[@]}" REG_RATE="$CFG_CALL_REG_RATE" bash "$BENCH/callbench.sh" "${EIP[$s]}" "$PORT" "${RIP[$s]}" "$PORT" tcp) ;;
  esac
  b0=$(busy_ticks); k0=0; for pid in $FG_PIDS; do k0=$(( k0 + $(tree_ticks "$pid") )); done
  t0=$(date +%s.%N)
  MON="$MON" OUT="$dir/sipp" LOCAL_IP=$LOCAL_IP UA_IP=$UA_IP CALLER_IP=$CALLER_IP \
    setsid bash -c 'export MON="$MON driver=$$"; exec "$@"' _ "${cmd[@]}" >"$dir/bench.txt" 2>&1 </dev/null &
  DRIVER_PID=$!
  wait "$DRIVER_PID"; DRIVER_PID=""
  t1=$(date +%s.%N); b1=$(busy_ticks)
  k1=0; for pid in $FG_PIDS; do k1=$(( k1 + $(tree_ticks "$pid") )); done
  for u in $MGMT_URLS; do curl -s -m 5 -H "$AUTHZ" "${u#*=}/v1/stats" >"$dir/stats-${u%%=*}.json" 2>/dev/null; done
  line=$(grep -E '^(register_rate_|call_rate=)' "$dir/bench.txt" | tail -1)
  {
    echo "status=done"; echo "suite=cfg"; echo "bench=$b"; echo "setup=$s"; echo "name=${NAME[$s]}"; echo "round=$round"
    echo "result=$line"; echo "wall_s=$(echo "$t1 - $t0" | bc)"; echo "hz=$(getconf CLK_TCK)"
    echo "busy_ticks=$(( b1 - b0 ))"; echo "setup_ticks=$(( k1 - k0 ))"; echo "ts_seed_strict=$CFG_TS_SEED_STRICT"
    echo "sock_drops=$(sock_drops)"; echo "log_errors=$(log_errors "$dir")"; echo "mon=$MON"; echo "quiet=$QUIET_NOTE"
  } >"$dir/run.env"
  log "cfg $b round $round ${NAME[$s]}: ${line:-no result (see $dir/bench.txt)} | $(log_errors "$dir") | $QUIET_NOTE"
  stop_all
  sleep 1
}

cfg_suite() {
  local round b s order
  for round in $(seq 1 "$ROUNDS"); do
    if [ $(( round % 2 )) = 1 ]; then order="ft fc"; else order="fc ft"; fi
    for b in $CFG_BENCHES; do
      case $b in register|call) ;; *) log "cfg: unknown benchmark $b (register, call)"; continue ;; esac
      for s in $order; do
        if ! fits 110; then
          log "budget: skipping cfg $b round $round ${NAME[$s]}"; mkdir -p "$OUT/cfg/$b/r$round-$s"
          echo "status=skipped_budget" >"$OUT/cfg/$b/r$round-$s/run.env"; continue
        fi
        cfg_run "$b" "$s" "$round"
      done
    done
  done
}
