#!/usr/bin/env bash
# Runs a command with a throwaway Redis on loopback as Celery broker and
# channel layer (REDIS_URL), then stops it.  Installs Debian's redis-server
# first when it is missing and we may (root with apt-get).
#   scripts/with-redis.sh .venv-dev/bin/python -m pytest
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "with-redis: installing redis-server" >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
  else
    echo "with-redis: redis-server not found (apt-get install redis-server)" >&2
    exit 2
  fi
fi

# A free port unless one is asked for, so two runs on one machine never share a server.
port="${AGENTRY_TEST_REDIS_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
dir="$(mktemp -d /tmp/agentry-redis.XXXXXX)"
redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --save "" --appendonly no \
  --daemonize no --logfile "$dir/redis.log" &
pid=$!
stop() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
trap stop EXIT

for _ in $(seq 1 50); do
  redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
redis-cli -h 127.0.0.1 -p "$port" ping >/dev/null
if ! kill -0 "$pid" 2>/dev/null; then
  echo "with-redis: redis-server exited (is port $port taken?); see $dir/redis.log" >&2
  exit 2
fi

echo "with-redis: $(redis-server --version | awk '{print $3}') on 127.0.0.1:$port" >&2
export REDIS_URL="redis://127.0.0.1:${port}/0"
"$@"
