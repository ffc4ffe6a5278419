# shellcheck shell=bash
# The `auth` and `pike` suites of bench/chain/run.sh (issue 10), sourced by it: they use its
# globals and helpers (OUT, ROOT, BENCH, EIP/RIP/NAME, PORT, FLOWGATE_DIST, start_setup, stop_all,
# wait_quiet, fits, log, sock_drops, log_errors, AUTHZ, DRIVER_PID, ROUNDS).
#
# Both set-ups of a suite run at the same time, each on its own loopback addresses; the driver
# alternates between them step by step (the order flips at every rate: A B, B A, ...), after one
# uncounted warm-up step each, so machine noise hits both alike. Each set-up ramps until its first
# failing step, then the midpoint between its last pass and that failure is tried. ROUNDS rounds,
# each with both set-ups started fresh; round 2 starts with the other set-up.
#   auth  bench/auth/client.ts (REGISTER -> 401 -> authorized REGISTER -> 200, AUTH_USERS_N users)
#         against ka (Kamailio edge + registrar with KAM_AUTH=1: auth_check/auth_challenge over
#         auth_db + db_text, MD5 HA1) and fa (flowgate edge + registrar with modules.auth: {} and
#         auth_db sqlite pre-filled by bench/auth/users.ts from the same users file)
#   pike  ../shared/bench/bench.sh udp (unauthenticated REGISTER) against fn (flowgate edge +
#         registrar) and fp (the same with modules.pike on the edge, a threshold it never reaches)
# Per round: OUT/<suite>/r<N>/steps.txt (one line per step, set-up key first, procmon trees after
# `|`), the raw output of every step, the set-up folders (logs, configs, /v1/stats) and run.env;
# bench/auth/report.ts prints the summary and the final lines.
# Env: AUTH_RATES, PIKE_RATES (calls/s per step), ALT_STEP_SECS=5, WARMUP_RATE=200,
#      AUTH_USERS=<user;password file> (default: AUTH_USERS_N=2000 new users in OUT/auth/users.txt),
#      AUTH_ALGORITHM=MD5 (or SHA-256: flowgate only, Kamailio's db_text has MD5 HA1 only),
#      PIKE_DENSITY=1000000 (pike reqs_density_per_unit per 2 s on fp's edge),
#      AUTH_SETUPS="ka fa", PIKE_SETUPS="fn fp" (one of them alone: no alternation, e.g.
#      AUTH_ALGORITHM=SHA-256 AUTH_SETUPS=fa for flowgate's SHA-256 figure)

AUTH_RATES="${AUTH_RATES:-500 1000 1500 2000 2500 3000 3500 4000 4500 5000 6000 7000 8000 10000}"
PIKE_RATES="${PIKE_RATES:-500 1000 1500 2000 2500 3000 3500 4000 5000 6000 7000 8000 10000}"
ALT_STEP_SECS="${ALT_STEP_SECS:-5}"; WARMUP_RATE="${WARMUP_RATE:-200}"
AUTH_USERS_N="${AUTH_USERS_N:-2000}"; AUTH_ALGORITHM="${AUTH_ALGORITHM:-MD5}"
PIKE_DENSITY="${PIKE_DENSITY:-1000000}"
AUTH_CLIENT_IP=127.0.61.61; PIKE_CLIENT_IP=127.0.61.62
AUTH_CLIENT=()

# The client, compiled once per invocation (esbuild from tsx's dependencies; tsx as a fallback), and
# the users file. Sets AUTH_CLIENT (command) and AUTH_USERS (file).
auth_prepare() {
  [ ${#AUTH_CLIENT[@]} -gt 0 ] && return 0
  mkdir -p "$OUT/auth"
  if "$ROOT/node_modules/.bin/esbuild" "$ROOT/bench/auth/client.ts" --platform=node --format=esm \
      --target=node20 --outfile="$OUT/auth/client.mjs" --log-level=warning >"$OUT/auth/client-build.log" 2>&1; then
    AUTH_CLIENT=(node "$OUT/auth/client.mjs")
  else
    log "auth: esbuild failed (see $OUT/auth/client-build.log): running the client under tsx"
    AUTH_CLIENT=(node --import "$ROOT/node_modules/tsx/dist/esm/index.mjs" "$ROOT/bench/auth/client.ts")
  fi
  if [ -z "${AUTH_USERS:-}" ]; then
    AUTH_USERS="$OUT/auth/users.txt"
    (cd "$ROOT" && node --import tsx bench/auth/users.ts "$AUTH_USERS" --count "$AUTH_USERS_N") >>"$OUT/auth/users.log" 2>&1 \
      || { cat "$OUT/auth/users.log" >&2; return 1; }
  fi
  AUTH_USERS="$(cd "$(dirname "$AUTH_USERS")" && pwd)/$(basename "$AUTH_USERS")"
  export AUTH_USERS
  log "auth: client ${AUTH_CLIENT[*]}, users $AUTH_USERS ($(grep -c ';' "$AUTH_USERS") users), algorithm $AUTH_ALGORITHM"
}

# Writes the users of AUTH_USERS into a flowgate SQLite credentials store (the set-up's data_dir)
# with the modules of the flowgate build under test.
auth_fill_db() { # subscriber.db path
  (cd "$ROOT" && FLOWGATE_DIST="$FLOWGATE_DIST" node --import tsx bench/auth/users.ts "$AUTH_USERS" --db "$1")
}

declare -A ALT_MON=() ALT_MGMT=() ALT_SOCKS=() ALT_BEST=() ALT_FAIL=() ALT_DONE=()

# alt_step SUITE SETUP RATE SECS LABEL -> STEP_OK; appends "<setup> [LABEL ]step rate=..." to steps.txt
alt_step() {
  local suite=$1 s=$2 r=$3 secs=$4 label=$5 f pm line=""
  f="$RDIR/$s-$r${label:+-$label}.txt"
  case $suite in
    auth)
      RATES=$r STEP_SECS=$secs DEADLINE=100000 LOCAL_IP=$AUTH_CLIENT_IP USERS="$AUTH_USERS" ALGORITHM="$AUTH_ALGORITHM" \
        setsid "${AUTH_CLIENT[@]}" "${EIP[$s]}" "$PORT" >"$f" 2>&1 </dev/null &
      DRIVER_PID=$!
      # the client reports its own CPU (client_cpu, client_us_per_call): procmon samples the set-up only
      # shellcheck disable=SC2086
      python3 "$BENCH/tools/procmon.py" --interval 0.5 --duration $(( secs + 60 )) ${ALT_MON[$s]} >"$f.mon" 2>&1 &
      pm=$!
      wait "$DRIVER_PID"; DRIVER_PID=""
      kill -TERM "$pm" 2>/dev/null; wait "$pm" 2>/dev/null
      line="$(grep '^step rate=' "$f" | tail -1)"
      [ -n "$line" ] && line="$line | $(tr '\n' ' ' <"$f.mon" | sed 's/window=[0-9.]*s//g')" ;;
    pike)
      MON="${ALT_MON[$s]}" OUT="$RDIR/sipp-$s-$r${label:+-$label}" LOCAL_IP=$PIKE_CLIENT_IP RATES=$r STEP_SECS=$secs DEADLINE=100000 \
        setsid bash -c 'export MON="$MON driver=$$"; exec "$@"' _ bash "$BENCH/bench.sh" "${EIP[$s]}" "$PORT" udp \
        >"$f" 2>&1 </dev/null &
      DRIVER_PID=$!
      wait "$DRIVER_PID"; DRIVER_PID=""
      line="$(grep '^step rate=' "$f" | tail -1)" ;;
  esac
  STEP_OK=0; [[ "$line" == *": PASS "* ]] && STEP_OK=1
  echo "$s ${label:+$label }${line:-step rate=$r/s: FAIL no step line (see $f)}" >>"$RDIR/steps.txt"
  log "$suite r$ROUND ${NAME[$s]}${label:+ ($label)}: ${line:-no step line, see $f}"
}

alt_round() { # suite round setup_a setup_b
  local suite=$1 s i=0 r order mid b ff
  ROUND=$2; RDIR="$OUT/$suite/r$2"
  shift 2
  local setups=("$@")
  mkdir -p "$RDIR"
  for s in "${setups[@]}"; do
    if ! start_setup "$s" "$RDIR/$s"; then
      log "$suite round $ROUND ${NAME[$s]}: set-up did not start (see $RDIR/$s)"; echo "status=start_failed" >"$RDIR/run.env"; stop_all; return
    fi
    ALT_MON[$s]=$MON; ALT_MGMT[$s]=$MGMT_URLS; ALT_SOCKS[$s]=$SOCKS
    ALT_BEST[$s]=0; ALT_FAIL[$s]=""; ALT_DONE[$s]=0
  done
  wait_quiet
  log "$suite round $ROUND: ${setups[*]} up; $QUIET_NOTE"
  for s in "${setups[@]}"; do alt_step "$suite" "$s" "$WARMUP_RATE" 2 warmup; sleep 1; done
  local rates=$AUTH_RATES; [ "$suite" = pike ] && rates=$PIKE_RATES
  for r in $rates; do
    if [ $(( i % 2 )) = 0 ] || [ ${#setups[@]} = 1 ]; then order=("${setups[@]}"); else order=("${setups[1]}" "${setups[0]}"); fi
    i=$(( i + 1 ))
    local any=0
    for s in "${order[@]}"; do
      [ "${ALT_DONE[$s]}" = 1 ] && continue
      any=1
      if ! fits $(( ALT_STEP_SECS + 20 )); then log "budget: $suite round $ROUND ${NAME[$s]}: skipping $r/s and above"; ALT_DONE[$s]=1; continue; fi
      alt_step "$suite" "$s" "$r" "$ALT_STEP_SECS" ""
      if [ "$STEP_OK" = 1 ]; then ALT_BEST[$s]=$r; else ALT_FAIL[$s]=$r; ALT_DONE[$s]=1; fi
      sleep 1
    done
    [ "$any" = 0 ] && break
  done
  for s in "${setups[@]}"; do # the midpoint between the last pass and the first failure
    ff="${ALT_FAIL[$s]}"; b="${ALT_BEST[$s]}"
    [ -n "$ff" ] && [ "$b" -gt 0 ] || continue
    mid=$(( (b + ff) / 2 / 50 * 50 ))
    if [ "$mid" -gt "$b" ] && fits $(( ALT_STEP_SECS + 20 )); then
      sleep 1; alt_step "$suite" "$s" "$mid" "$ALT_STEP_SECS" ""; [ "$STEP_OK" = 1 ] && ALT_BEST[$s]=$mid
    fi
  done
  {
    echo "status=done"; echo "suite=$suite"; echo "round=$ROUND"; echo "setups=${setups[*]}"; echo "quiet=$QUIET_NOTE"
    for s in "${setups[@]}"; do
      echo "best_$s=${ALT_BEST[$s]}"; echo "first_fail_$s=${ALT_FAIL[$s]}"; echo "mon_$s=${ALT_MON[$s]}"
      SOCKS=${ALT_SOCKS[$s]}; echo "sock_drops_$s=$(sock_drops)"; echo "log_errors_$s=$(log_errors "$RDIR/$s")"
    done
  } >"$RDIR/run.env"
  for s in "${setups[@]}"; do
    for u in ${ALT_MGMT[$s]}; do curl -s -m 5 -H "$AUTHZ" "${u#*=}/v1/stats" >"$RDIR/$s/stats-${u%%=*}.json" 2>/dev/null; done
    log "$suite round $ROUND ${NAME[$s]}: best ${ALT_BEST[$s]}/s, first failing ${ALT_FAIL[$s]:-none} | $(grep "^log_errors_$s=" "$RDIR/run.env" | cut -d= -f2-)"
  done
  stop_all
  sleep 1
}

alt_suite() { # auth | pike
  local suite=$1 round list
  case $suite in
    auth) auth_prepare || { log "auth: cannot prepare the client or the users"; return; }; list=${AUTH_SETUPS:-ka fa}
          if [ "$AUTH_ALGORITHM" != MD5 ] && [[ " $list " == *" ka "* ]]; then
            log "auth: AUTH_ALGORITHM=$AUTH_ALGORITHM but Kamailio's db_text keeps MD5 HA1 only: use AUTH_SETUPS=fa"
          fi ;;
    pike) list=${PIKE_SETUPS:-fn fp} ;;
  esac
  # shellcheck disable=SC2086
  set -- $list
  for round in $(seq 1 "$ROUNDS"); do
    if ! fits 120; then log "budget: skipping $suite round $round"; continue; fi
    # shellcheck disable=SC2046
    if [ $(( round % 2 )) = 1 ]; then alt_round "$suite" "$round" "$@"; else alt_round "$suite" "$round" $(reverse "$@"); fi
  done
}
