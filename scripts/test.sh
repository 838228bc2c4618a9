#!/usr/bin/env bash
# The test command: real PostgreSQL and Redis, go vet, and the race-enabled
# test suite. A test that needs a server fails (never skips) without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
# Tools the tests use, which fail rather than skip without them: headless
# Chromium for the browser tests (GRIDBOT_TEST_CHROMIUM is set below),
# zbarimg to decode the certificate's QR code
# (TestBrowserPrintCertificateAndPacket), nginx for TestDeployNginxSite
# (nginx -t of docs/deploy/nginx-gridbot.conf).
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v zbarimg >/dev/null 2>&1 || missing+=(zbar-tools)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi
export GRIDBOT_TEST_CHROMIUM=1
export GRIDBOT_TEST_DATABASE_URL=${GRIDBOT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export GRIDBOT_TEST_REDIS_URL=${GRIDBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
go vet ./...
go test -race -count=1 -timeout 15m "$@" ./...
