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

# Every call needs credentials: a token per role the demo uses, made in the
# database before the server starts (their secrets are shown only now).
STAMP="$(date +%s)"
ADMIN_TOKEN="$(./build/dealdeskd token create --db "$DB" --role admin --name "demo-admin-$STAMP" 2>/dev/null)"
CHECKOUT_TOKEN="$(./build/dealdeskd token create --db "$DB" --role checkout --name "demo-checkout-$STAMP" 2>/dev/null)"
if [ -z "$ADMIN_TOKEN" ] || [ -z "$CHECKOUT_TOKEN" ]; then
  echo "cannot create the demo tokens (is another dealdeskd using $DB?)" >&2
  exit 1
fi

./build/dealdeskd --listen "$LISTEN" --db "$DB" --demo &
SERVER=$!
trap 'kill -INT $SERVER 2>/dev/null; wait $SERVER 2>/dev/null' EXIT INT TERM

for _ in $(seq 1 100); do
  kill -0 $SERVER 2>/dev/null || { echo "dealdeskd did not start" >&2; exit 1; }
  ./build/dealdesk --server "$LISTEN" health >/dev/null 2>&1 && break
  sleep 0.1
done
# a health answer from some other server on the port is not ours
sleep 0.5
kill -0 $SERVER 2>/dev/null || { echo "dealdeskd did not start (is $LISTEN in use?)" >&2; exit 1; }

export DEALDESK_TOKEN="$CHECKOUT_TOKEN"
QUOTE=(./build/dealdesk --server "$LISTEN" quote --customer acme --currency USD
       --channel web --line WIDGET-1:2 --line CABLE-3:3 --line GADGET-2:1
       --line MANUAL-4:2 --line SUPPORT-5:1)
echo
echo "== first quote: ${QUOTE[*]}"
"${QUOTE[@]}"
echo
echo "dealdeskd is serving the demo data on $LISTEN (database $DB)."
echo "Tokens made for this run (shown once; revoke with: dealdesk token revoke NAME):"
echo "  checkout (quotes):          export DEALDESK_TOKEN=$CHECKOUT_TOKEN"
echo "  admin (everything, tokens): export DEALDESK_TOKEN=$ADMIN_TOKEN"
echo "More: DEALDESK_TOKEN=$CHECKOUT_TOKEN ./build/dealdesk --server $LISTEN quote --customer tokyo --currency JPY --line WIDGET-1:3 --explain"
echo "      DEALDESK_TOKEN=$ADMIN_TOKEN ./build/dealdesk --server $LISTEN token create --role pricing --name me"
echo "Press Ctrl-C to stop the server."
wait $SERVER
