#!/usr/bin/env bash
# README command 1: install what is missing, build, create the demo database,
# start dealdeskd on 127.0.0.1:50051 and show a first quote. The server keeps
# running in the foreground; Ctrl-C (SIGINT) stops it gracefully.
#   DEALDESK_LISTEN=127.0.0.1:50051  DEALDESK_DB=./demo-db  to change them.
set -euo pipefail
cd "$(dirname "$0")/.."

LISTEN="${DEALDESK_LISTEN:-127.0.0.1:50051}"
DB="${DEALDESK_DB:-./demo-db}"

./scripts/bootstrap.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target dealdeskd dealdesk

./build/dealdeskd --listen "$LISTEN" --db "$DB" --demo &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM

for _ in $(seq 1 100); do
  ./build/dealdesk --server "$LISTEN" health >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { echo "dealdeskd did not start" >&2; exit 1; }
  sleep 0.1
done

QUOTE=(./build/dealdesk --server "$LISTEN" quote --customer acme --currency USD
       --channel web --line WIDGET-1:2 --line CABLE-3:3 --line GADGET-2:1
       --line MANUAL-4:2 --line SUPPORT-5:1)
echo
echo "== first quote: ${QUOTE[*]}"
"${QUOTE[@]}"
echo
echo "dealdeskd is serving the demo data on $LISTEN (database $DB)."
echo "More: ./build/dealdesk --server $LISTEN quote --customer tokyo --currency JPY --line WIDGET-1:3 --explain"
echo "Press Ctrl-C to stop the server."
wait $SERVER
