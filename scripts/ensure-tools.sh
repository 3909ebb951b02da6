#!/usr/bin/env bash
# Installs and starts what lanewatch's tests and `make run` need. Idempotent: run it as often as
# you like. Tools go into .tools/bin (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BIN=$ROOT/.tools/bin
mkdir -p "$BIN"
export GOBIN=$BIN

say() { printf 'ensure-tools: %s\n' "$*" >&2; }

need_apt() { # package...
  local missing=()
  for p in "$@"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || say "apt-get update failed; trying the install anyway"
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq "${missing[@]}"
}

if [ ! -x "$BIN/influxd" ]; then
  say "installing influxd 1.8.10 into .tools/bin (go install; a few minutes the first time)"
  go install github.com/influxdata/influxdb/cmd/influxd@v1.8.10
fi
if [ ! -x "$BIN/staticcheck" ]; then
  say "installing staticcheck v0.8.2 into .tools/bin"
  go install honnef.co/go/tools/cmd/staticcheck@v0.8.2
fi

if [ ! -x "$BIN/nats-server" ]; then
  say "installing nats-server v2.15.2 into .tools/bin (the bridge's tests start their own on a free port)"
  go install github.com/nats-io/nats-server/v2@v2.15.2
fi
# NATS for `make run` with bridge.nats_url: start one when none answers on 127.0.0.1:4222.
if ! (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
  say "starting nats-server on 127.0.0.1:4222 (log .tools/nats.log)"
  nohup "$BIN/nats-server" -a 127.0.0.1 -p 4222 >"$ROOT/.tools/nats.log" 2>&1 &
fi

# PostgreSQL for the store contract tests: use the one on 127.0.0.1:5432 when it answers,
# otherwise install and start Debian's.
pg_ok() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }
if ! command -v pg_isready >/dev/null 2>&1 || ! pg_ok; then
  say "PostgreSQL is not answering on 127.0.0.1:5432; installing/starting Debian's postgresql"
  need_apt postgresql
  if ! pg_ok; then
    ver=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n1)
    if [ -n "$ver" ]; then
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
    fi
  fi
  for _ in $(seq 1 30); do pg_ok && break; sleep 1; done
  pg_ok || { say "PostgreSQL did not start on 127.0.0.1:5432; start it and rerun"; exit 1; }
fi
# Trust auth for local test connections is what CI machines have; check we can log in.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atc 'select 1' >/dev/null 2>&1; then
  say "cannot log in to PostgreSQL as postgres on 127.0.0.1 without a password."
  say "set LANEWATCH_TEST_POSTGRES_DSN to a DSN of a role that may CREATE DATABASE."
  [ -n "${LANEWATCH_TEST_POSTGRES_DSN:-}" ] || exit 1
fi
# Chromium for the console's browser tests (web/, chromedp drives /usr/bin/chromium headless).
if [ ! -x /usr/bin/chromium ]; then
  need_apt chromium
fi
need_apt fonts-wqy-microhei # a CJK font, so Chinese labels render in the browser tests' screenshots
say "tools ready: $(ls "$BIN" | tr '\n' ' ')"
