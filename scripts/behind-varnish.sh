#!/usr/bin/env bash
# The demo behind Varnish (xkey), one command: `npm run start:varnish`.
#   PORT          the app (default 3000); VARNISH_PORT  Varnish (default 6081): open http://127.0.0.1:6081
# Varnish runs docs/varnish.vcl with its backend pointed at the app; invalidateTags purges it by
# tag (VARNISH_URL). Ctrl-C stops both, by their own PIDs.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v varnishd >/dev/null || { echo "varnishd is missing: apt-get install varnish varnish-modules" >&2; exit 1; }
PORT="${PORT:-3000}"
VARNISH_PORT="${VARNISH_PORT:-6081}"
work="$(mktemp -d)"
chmod 755 "$work"
sed "s/\.port = \"[0-9]*\";/.port = \"$PORT\";/" docs/varnish.vcl > "$work/app.vcl"
PORT="$PORT" VARNISH_URL="http://127.0.0.1:$VARNISH_PORT/" npx tsx app/server.ts &
app_pid=$!
varnishd -F -n "$work/varnish" -a "127.0.0.1:$VARNISH_PORT" -T 127.0.0.1:0 -f "$work/app.vcl" -s malloc,64m &
varnish_pid=$!
stop() { kill "$varnish_pid" "$app_pid" 2>/dev/null || true; wait "$varnish_pid" "$app_pid" 2>/dev/null || true; rm -rf "$work"; }
trap stop EXIT INT TERM
echo "Varnish on http://127.0.0.1:$VARNISH_PORT in front of the demo on http://127.0.0.1:$PORT"
wait -n "$app_pid" "$varnish_pid"
