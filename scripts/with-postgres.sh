#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL (15 where installed) that it
# starts on loopback from the machine's binaries, then stops and deletes it.
#   scripts/with-postgres.sh .venv-dev/bin/python -m pytest
set -euo pipefail

PGBIN="${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  echo "with-postgres: no PostgreSQL binaries found (set PGBIN)" >&2
  exit 2
fi
# A free port unless one is asked for, so two runs on one machine never share a server.
port="${AGENTRY_TEST_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
dir="$(mktemp -d /tmp/agentry-pg.XXXXXX)"
chmod 755 "$dir"

# initdb refuses to run as root; use the postgres account then.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi

stop() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as_pg[@]}" "$PGBIN/initdb" -D "$dir/data" -U agentry --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
  -o "-h 127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
"$PGBIN/createdb" -h 127.0.0.1 -p "$port" -U agentry agentry

echo "with-postgres: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port" >&2
export DATABASE_URL="postgres://agentry@127.0.0.1:${port}/agentry"
"$@"
