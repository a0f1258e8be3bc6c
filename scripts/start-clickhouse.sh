#!/usr/bin/env bash
# Starts Debian's clickhouse-server as a private, loopback-only server for the tests:
# HTTP on ${CLICKHOUSE_HTTP_PORT:-8123}, native protocol on ${CLICKHOUSE_TCP_PORT:-9000}, data under
# ${CLICKHOUSE_DIR:-/tmp/sluice-clickhouse}. Returns once the server answers; does nothing if it already does.
set -euo pipefail
http_port="${CLICKHOUSE_HTTP_PORT:-8123}"
tcp_port="${CLICKHOUSE_TCP_PORT:-9000}"
dir="${CLICKHOUSE_DIR:-/tmp/sluice-clickhouse}"
url="http://127.0.0.1:${http_port}/"

if curl -fsS "${url}ping" >/dev/null 2>&1; then exit 0; fi
if ! command -v clickhouse-server >/dev/null; then
  echo "clickhouse-server is not installed (apt-get install clickhouse-server)" >&2
  exit 1
fi
mkdir -p "$dir/tmp" "$dir/user_files" "$dir/format_schemas"
clickhouse-server --config-file=/etc/clickhouse-server/config.xml -- \
  --path="$dir/" --tmp_path="$dir/tmp/" --user_files_path="$dir/user_files/" \
  --format_schema_path="$dir/format_schemas/" --listen_host=127.0.0.1 \
  --http_port="$http_port" --tcp_port="$tcp_port" \
  --logger.log="$dir/server.log" --logger.errorlog="$dir/error.log" >"$dir/stdout.log" 2>&1 &
for _ in $(seq 1 100); do
  if curl -fsS "${url}ping" >/dev/null 2>&1; then exit 0; fi
  sleep 0.2
done
echo "clickhouse-server did not answer on ${url} within 20 s; see $dir/error.log" >&2
exit 1
