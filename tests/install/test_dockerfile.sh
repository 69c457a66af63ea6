#!/usr/bin/env bash
# The Dockerfile's runtime stage installs every shared library the built
# dealdeskd and dealdesk load: each library's Debian package (dpkg -S of
# what ldd lists) must be one the stage installs or one they depend on
# (their Depends and Pre-Depends, recursively). No Docker daemon needed.
set -euo pipefail
BIN="$1"
# (ldd read whole: grep -q would stop early, ldd die of SIGPIPE, and with
# pipefail the test would take the sanitizer build for a normal one)
if [[ "$(ldd "$BIN/dealdeskd")" == *libasan* ]]; then
  echo "dockerfile: a sanitizer build; the image builds without (checked in the normal build)"
  exit 0
fi
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
# the package list of the runtime stage: the apt-get install after the last FROM
runtime="$(awk '/^FROM /{stage++} stage==2' "$SRC/Dockerfile" |
  sed -n '/apt-get install/,/rm -rf/p' | tr ' \\' '\n\n' |
  grep -E '^[a-z0-9][a-z0-9.+-]+$' | grep -vE '^(apt-get|install|rm|useradd)$' || true)"
[ -n "$runtime" ] || { echo "dockerfile: no runtime packages found" >&2; exit 1; }
# The dependency closure from the dpkg database (apt-cache reads package
# lists that a concurrent apt-get update rewrites): level by level.
closure="" level="$runtime"
while [ -n "$level" ]; do
  closure="$(printf '%s\n' $closure $level | sort -u)"
  deps="$(dpkg-query -W -f='${Depends}, ${Pre-Depends}\n' $level 2>/dev/null || true)"
  level="$(echo "$deps" | tr ',|' '\n\n' | sed 's/([^)]*)//g; s/:any//g; s/ //g' |
           grep -E '^[a-z0-9][a-z0-9.+-]+$' | sort -u | comm -23 - <(echo "$closure") || true)"
done
# each library by its path (usr-merge: dpkg may know it under /lib or /usr/lib);
# one dpkg -S for all of them, it is slow
libs="$(for b in "$BIN/dealdeskd" "$BIN/dealdesk"; do ldd "$b"; done |
        awk '/=> \//{print $3}' | sort -u)"
candidates() {
  local real
  real="$(readlink -f "$1")"
  printf '%s\n' "$1" "$real" "${1#/usr}" "${real#/usr}" "/usr$1" "/usr$real"
}
owners="$(for lib in $libs; do candidates "$lib"; done | sort -u | xargs dpkg -S 2>/dev/null || true)"
needed=""
for lib in $libs; do
  pkg=""
  for path in $(candidates "$lib"); do
    pkg="$(echo "$owners" | awk -F': ' -v p="$path" '$2 == p { split($1, a, ":"); print a[1]; exit }')"
    [ -n "$pkg" ] && break
  done
  [ -n "$pkg" ] || { echo "dockerfile: no Debian package has $lib" >&2; exit 1; }
  needed="$needed $pkg"
done
needed="$(echo $needed | tr ' ' '\n' | sort -u)"
missing=""
for p in $needed; do
  grep -qx "$p" <<<"$closure" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "dockerfile: the runtime stage lacks:$missing" >&2
  exit 1
fi
echo "dockerfile: ok ($(echo $needed | wc -w) library packages covered by: $(echo $runtime))"
