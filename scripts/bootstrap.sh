#!/usr/bin/env bash
# Installs the Debian 12 packages dealdesk needs, if any are missing.
# Idempotent and non-interactive; run as root (or with sudo available).
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libgrpc-dev libssl-dev openssl
  protobuf-c-compiler libprotobuf-c-dev
  liblua5.4-dev liblmdb-dev libjson-c-dev
  libcmocka-dev libgoogle-perftools-dev tzdata
  python3 python3-grpcio python3-protobuf protobuf-compiler protobuf-compiler-grpc
  chromium
  libmicrohttpd-dev libsystemd-dev grpc-proto python3-grpc-tools python3-prometheus-client
  systemd
)
# examples/python: its stubs are generated at build time with grpc_tools
PACKAGES+=(python3-grpc-tools)
# examples/node: Debian's nodejs and npm, only when there is no npm command
if ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "bootstrap: need root to install: ${missing[*]}" >&2; exit 1; }
  SUDO="sudo"
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "bootstrap: done"
