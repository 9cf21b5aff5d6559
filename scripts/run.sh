#!/usr/bin/env bash
# Starts the web server (HTTP + WebSocket + SSE), a Celery worker and beat,
# and stops all three together on Ctrl-C or when any of them exits.
# AGENTRY_SERVER picks the web server: uvicorn (default), granian or daphne;
# bench/api_bench.py measures the three (docs/PERFORMANCE.md).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${VENV:-.venv}/bin"
PORT="${PORT:-8000}"
SERVER="${AGENTRY_SERVER:-uvicorn}"
APP=config.asgi:application

pids=()
cleanup() {
  trap - INT TERM EXIT
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

# A listen backlog of 1024 for every server: a burst of new connections (many
# chat clients at once) queues instead of being reset (Twisted's default is 50).
case "$SERVER" in
  granian)
    # asginl: the ASGI interface without lifespan events (Channels' router has no lifespan app).
    web=("$BIN/granian" "$APP" --interface asginl --host 127.0.0.1 --port "$PORT" --loop uvloop --backlog 1024) ;;
  uvicorn)
    web=("$BIN/uvicorn" "$APP" --host 127.0.0.1 --port "$PORT" --loop uvloop --http httptools
         --ws websockets-sansio --lifespan off --backlog 1024) ;;
  daphne)
    web=("$BIN/daphne" -e "tcp:port=${PORT}:interface=127.0.0.1:backlog=1024" "$APP") ;;
  *)
    echo "AGENTRY_SERVER must be granian, uvicorn or daphne, not '$SERVER'" >&2
    exit 2 ;;
esac

# The web server starts first, alone, so the console answers as soon as it can
# (on a small machine three processes importing Django at once slow each
# other down); the worker and beat start once it listens.  Runs requested
# before the worker is up wait in the broker.
"${web[@]}" &
pids+=($!)
until (exec 3<>"/dev/tcp/127.0.0.1/${PORT}") 2>/dev/null; do
  kill -0 "${pids[0]}" 2>/dev/null || exit 1  # the web server failed to start; its error is above
  sleep 0.05
done
# Django's system checks ran in `manage.py migrate` just before (make run);
# Celery would run them again in the worker and beat, importing every URL,
# view and template to check them: 7 MB of each process and 0.14 s of its start.
export CELERY_SKIP_CHECKS=1
"$BIN/celery" -A config worker --loglevel=INFO --pool=solo --hostname="worker@%h" &
pids+=($!)
"$BIN/celery" -A config beat --loglevel=INFO --schedule="${AGENTRY_DATA_DIR}/celerybeat-schedule" &
pids+=($!)

echo "Agentry is up ($SERVER): console http://127.0.0.1:${PORT}/ , API docs http://127.0.0.1:${PORT}/api/docs/ (Ctrl-C stops everything)"
wait -n
