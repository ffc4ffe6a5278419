#!/usr/bin/env bash
# Starts the cluster of examples/cluster/cluster.yaml on this machine: a Redis master, its replica
# and three sentinels, two flowgate registrars and two flowgate edges, each on a loopback address
# of its own. Prints where everything listens, then waits; Ctrl-C (SIGINT) or SIGTERM stops every
# process it started, and it exits once they are all gone.
#
#   examples/cluster/run.sh [STATE_DIR]      (or: npm run cluster)
#
# STATE_DIR holds the generated Redis configs, each flowgate's data directory (management token,
# flow-token key) and every process's log (logs/<name>.log). Default: a new temporary directory,
# removed at exit; a directory given here is kept.
#
# Environment:
#   CLUSTER_NET   first three octets of the addresses (default 127.0.70): edges .1 and .2,
#                 registrars .11 and .12, Redis master .21 and replica .22, sentinels .31-.33
#   FLOWGATE      the flowgate command (default: node <checkout>/dist/cli/main.js, built by
#                 `npm run build`; else `flowgate` on PATH)
#   REDIS_SERVER, REDIS_SENTINEL   the Redis binaries (default: redis-server, redis-sentinel)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
NET="${CLUSTER_NET:-127.0.70}"
export CLUSTER_NET="$NET"
CONFIG="$HERE/cluster.yaml"

if [[ ! "$NET" =~ ^127\.[0-9]{1,3}\.[0-9]{1,3}$ ]]; then
  echo "run.sh: CLUSTER_NET must be three octets inside 127.0.0.0/8 (e.g. 127.0.70), got '$NET'" >&2
  exit 2
fi

if [[ -n "${FLOWGATE:-}" ]]; then
  read -r -a FG <<<"$FLOWGATE"
elif [[ -f "$ROOT/dist/cli/main.js" ]]; then
  FG=(node "$ROOT/dist/cli/main.js")
elif command -v flowgate >/dev/null; then
  FG=(flowgate)
else
  echo "run.sh: no flowgate: run 'npm run build' in $ROOT first, or set FLOWGATE" >&2
  exit 1
fi
REDIS_SERVER="${REDIS_SERVER:-redis-server}"
REDIS_SENTINEL="${REDIS_SENTINEL:-redis-sentinel}"
for bin in "$REDIS_SERVER" "$REDIS_SENTINEL" redis-cli; do
  if ! command -v "$bin" >/dev/null; then
    echo "run.sh: $bin not found (Debian: apt-get install redis-server redis-sentinel redis-tools)" >&2
    exit 1
  fi
done

# nothing may listen where the cluster will: a second cluster on the same addresses would find the
# first one's processes answering and take them for its own
for hp in "$NET.1:5060" "$NET.2:5060" "$NET.11:5060" "$NET.12:5060" "$NET.21:6379" "$NET.22:6379" \
  "$NET.31:26379" "$NET.32:26379" "$NET.33:26379" "$NET.1:8081" "$NET.2:8081" "$NET.11:8081" \
  "$NET.12:8081"; do
  if (exec 3<>"/dev/tcp/${hp%:*}/${hp#*:}") 2>/dev/null; then
    echo "run.sh: $hp is in use (another cluster on $NET? set CLUSTER_NET=127.0.N)" >&2
    exit 1
  fi
done

if [[ $# -ge 1 ]]; then
  STATE="$1"
  mkdir -p "$STATE"
  STATE="$(cd "$STATE" && pwd)"
  KEEP=1
else
  STATE="$(mktemp -d "${TMPDIR:-/tmp}/flowgate-cluster.XXXXXX")"
  KEEP=0
fi
mkdir -p "$STATE/logs"
: >"$STATE/pids"

# every edge must accept the others' flow tokens: one random secret for this run, unless given
if [[ -z "${FLOW_TOKEN_SECRET:-}" ]]; then
  FLOW_TOKEN_SECRET="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
fi
export FLOW_TOKEN_SECRET

NAMES=()
PIDS=()
STOPPING=0
TICK=

# Stops everything, the edges first and Redis last (the reverse of the start), each with SIGTERM
# and, when it is still there 5 s later, SIGKILL; reaps them all.
stop_all() {
  local code=$?
  trap '' INT TERM
  if [[ $STOPPING -eq 1 ]]; then return; fi
  STOPPING=1
  if [[ -n "$TICK" ]]; then kill "$TICK" 2>/dev/null || true; fi
  echo "stopping ${#PIDS[@]} processes" >&2
  local i pid n
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    kill -TERM "${PIDS[$i]}" 2>/dev/null || true
  done
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    pid="${PIDS[$i]}"
    for ((n = 0; n < 50; n++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "${NAMES[$i]} (pid $pid) did not stop in 5 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ $KEEP -eq 0 ]]; then
    rm -rf "$STATE"
  else
    echo "state kept in $STATE" >&2
  fi
  echo "stopped" >&2
  exit "$code"
}
trap stop_all EXIT
trap 'exit 0' INT TERM

# start NAME COMMAND...: runs it in the background, output to logs/NAME.log
start() {
  local name="$1"
  shift
  "$@" >"$STATE/logs/$name.log" 2>&1 </dev/null &
  NAMES+=("$name")
  PIDS+=("$!")
  echo "$name $!" >>"$STATE/pids"
}

# die_if_gone NAME PID: a process that exited during the start stops the whole run
die_if_gone() {
  if ! kill -0 "$2" 2>/dev/null; then
    echo "run.sh: $1 exited at start; its log ($STATE/logs/$1.log):" >&2
    tail -n 20 "$STATE/logs/$1.log" >&2 || true
    exit 1
  fi
}

# wait_redis NAME PID PORT HOST: until it answers PING (10 s)
wait_redis() {
  local n
  for ((n = 0; n < 100; n++)); do
    die_if_gone "$1" "$2"
    if [[ "$(redis-cli -h "$4" -p "$3" PING 2>/dev/null)" == "PONG" ]]; then return; fi
    sleep 0.1
  done
  echo "run.sh: $1 did not answer PING on $4:$3 in 10 s" >&2
  exit 1
}

# ---------------------------------------------------------------- Redis: master, replica, sentinels
# No persistence: this is a demonstration. In production, see docs/redis.md.
redis_conf() { # ADDR DIR [replicaof ADDR]
  mkdir -p "$2"
  cat <<EOF
bind $1
port 6379
dir $2
daemonize no
save ""
appendonly no
loglevel notice
# replicas sync at once, and each says which address the sentinels should use for it
repl-diskless-sync-delay 0
replica-announce-ip $1
EOF
  if [[ $# -ge 3 ]]; then echo "replicaof $3 6379"; fi
}
redis_conf "$NET.21" "$STATE/redis-master" >"$STATE/redis-master.conf"
redis_conf "$NET.22" "$STATE/redis-replica" "$NET.21" >"$STATE/redis-replica.conf"
start redis-master "$REDIS_SERVER" "$STATE/redis-master.conf"
start redis-replica "$REDIS_SERVER" "$STATE/redis-replica.conf"
wait_redis redis-master "${PIDS[0]}" 6379 "$NET.21"
wait_redis redis-replica "${PIDS[1]}" 6379 "$NET.22"

for s in 1 2 3; do
  # a sentinel rewrites its file (it records what it learns): one writable file each
  cat >"$STATE/sentinel-$s.conf" <<EOF
bind $NET.3$s
port 26379
dir $STATE
daemonize no
sentinel announce-ip $NET.3$s
sentinel monitor flowgate $NET.21 6379 2
sentinel down-after-milliseconds flowgate 5000
sentinel failover-timeout flowgate 30000
sentinel parallel-syncs flowgate 1
EOF
  start "sentinel-$s" "$REDIS_SENTINEL" "$STATE/sentinel-$s.conf"
done
for s in 1 2 3; do wait_redis "sentinel-$s" "${PIDS[$((s + 1))]}" 26379 "$NET.3$s"; done

# ---------------------------------------------------------------- flowgate: registrars, then edges
# wait_flowgate NAME PID: until it printed its management URL (it listens by then), 30 s
wait_flowgate() {
  local n
  for ((n = 0; n < 300; n++)); do
    die_if_gone "$1" "$2"
    if grep -q '^management: ' "$STATE/logs/$1.log"; then return; fi
    sleep 0.1
  done
  echo "run.sh: $1 did not start in 30 s; its log ($STATE/logs/$1.log):" >&2
  tail -n 20 "$STATE/logs/$1.log" >&2 || true
  exit 1
}

flowgate_start() { # ROLE ADDRESS
  start "$1" "${FG[@]}" start -c "$CONFIG" --role "$1" \
    --set "management.listen=$2:8081" --set "data_dir=$STATE/$1"
}
flowgate_start registrar-1 "$NET.11"
flowgate_start registrar-2 "$NET.12"
wait_flowgate registrar-1 "${PIDS[5]}"
wait_flowgate registrar-2 "${PIDS[6]}"
flowgate_start edge-a "$NET.1"
flowgate_start edge-b "$NET.2"
wait_flowgate edge-a "${PIDS[7]}"
wait_flowgate edge-b "${PIDS[8]}"

WHERE="state in $STATE"
if [[ $KEEP -eq 0 ]]; then WHERE="$WHERE, removed at exit"; fi
cat <<EOF
flowgate cluster on $NET.0/24 ($WHERE)
  redis      master $NET.21:6379, replica $NET.22:6379
  sentinels  $NET.31:26379 $NET.32:26379 $NET.33:26379 (master name: flowgate)
  registrar-1  sip:$NET.11:5060 (udp, tcp)   management http://$NET.11:8081
  registrar-2  sip:$NET.12:5060 (udp, tcp)   management http://$NET.12:8081
  edge-a       sip:$NET.1:5060 (udp, tcp)    management http://$NET.1:8081   registrars: 1, then 2
  edge-b       sip:$NET.2:5060 (udp, tcp)    management http://$NET.2:8081   registrars: 2, then 1
Logs: $STATE/logs/<name>.log; PIDs: $STATE/pids. Try (examples/cluster/README.md):
  ${FG[*]} ctl --url http://$NET.1:8081 --data-dir $STATE/edge-a registrars
edges: sip:$NET.1:5060 sip:$NET.2:5060
ready (Ctrl-C stops everything)
EOF

# Wait until stopped. A process that exits (say, the Redis master you killed to watch Sentinel
# fail over) is reported once; the others go on.
declare -A GONE=()
while :; do
  for i in "${!PIDS[@]}"; do
    if [[ -z "${GONE[$i]:-}" ]] && ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      GONE[$i]=1
      echo "${NAMES[$i]} (pid ${PIDS[$i]}) exited; the others go on" >&2
    fi
  done
  if [[ ${#GONE[@]} -eq ${#PIDS[@]} ]]; then
    echo "every process has exited" >&2
    exit 1
  fi
  sleep 1 &
  TICK=$!
  wait "$TICK" || true
done
