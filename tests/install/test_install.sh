#!/usr/bin/env bash
# `cmake --install` into a scratch prefix: the binaries, policies, protos and
# README where the install rules say, the installed binaries run, and the
# systemd unit is installed exactly when packaging/ has one.
set -euo pipefail
BIN="$1"
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
DEST="$(mktemp -d /tmp/dd-install-XXXXXX)"
trap 'rm -rf "$DEST"' EXIT
DESTDIR="$DEST" cmake --install "$BIN" --prefix /usr > "$DEST.log"
rm -f "$DEST.log"
fail() { echo "install: $*" >&2; exit 1; }
for f in usr/sbin/dealdeskd usr/bin/dealdesk \
         usr/share/dealdesk/policies/pricing.lua usr/share/dealdesk/policies/credit.lua \
         usr/share/dealdesk/policies/promotions.lua usr/share/dealdesk/policies/compliance.lua \
         usr/share/dealdesk/proto/dealdesk/v1/quote.proto \
         usr/share/dealdesk/proto/dealdesk/v1/backup.proto \
         usr/share/doc/dealdesk/README.md; do
  [ -f "$DEST/$f" ] || fail "missing /$f"
done
[ -x "$DEST/usr/sbin/dealdeskd" ] || fail "dealdeskd is not executable"
[[ "$("$DEST/usr/bin/dealdesk" --help)" == *backup* ]] || fail "the installed dealdesk does not run"
"$DEST/usr/sbin/dealdeskd" --help >/dev/null 2>&1 || fail "the installed dealdeskd does not run"
# the unit (configured from packaging/dealdeskd.service.in) starts the
# installed server, with the installed example configuration
UNIT="$DEST/usr/lib/systemd/system/dealdeskd.service"
[ -f "$UNIT" ] || fail "no unit file installed"
grep -q "^ExecStart=/.*/sbin/dealdeskd --config " "$UNIT" || fail "the unit does not start the installed sbin/dealdeskd"
[ -f "$DEST/usr/etc/dealdesk/dealdeskd.conf" ] || [ -f "$DEST/etc/dealdesk/dealdeskd.conf" ] || \
  fail "no example configuration installed"
echo "install: ok ($(find "$DEST" -type f | wc -l) files)"
