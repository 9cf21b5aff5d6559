#!/usr/bin/env bash
# Starts the web server (daphne: HTTP + WebSocket), a Celery worker and beat,
# and stops all three together on Ctrl-C or when any of them exits.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
PORT="${PORT:-8000}"

pids=()
cleanup() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

"$BIN/celery" -A config worker --loglevel=INFO --concurrency=1 --hostname="worker@%h" &
pids+=($!)
"$BIN/celery" -A config beat --loglevel=INFO --schedule="${AGENTRY_DATA_DIR}/celerybeat-schedule" &
pids+=($!)
# A listen backlog of 1024 (Twisted's default is 50): a burst of new
# connections (many chat clients at once) queues instead of being reset.
"$BIN/daphne" -e "tcp:port=${PORT}:interface=127.0.0.1:backlog=1024" config.asgi:application &
pids+=($!)

echo "Agentry is up: http://127.0.0.1:${PORT}/api/docs/ (Ctrl-C stops everything)"
wait -n
