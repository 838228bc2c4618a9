#!/usr/bin/env bash
# The test command: real PostgreSQL and Redis, go vet, and the race-enabled
# test suite. A test that needs a server fails (never skips) without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
# Headless Chromium for the /dev/chat browser test (TestBrowserDevChat),
# which fails rather than skips when GRIDBOT_TEST_CHROMIUM is set.
if ! command -v chromium >/dev/null 2>&1 && ! command -v chromium-browser >/dev/null 2>&1; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium >/dev/null
fi
# nginx for TestDeployNginxSite (nginx -t of docs/deploy/nginx-gridbot.conf),
# which fails rather than skips without it.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nginx >/dev/null
fi
export GRIDBOT_TEST_CHROMIUM=1
export GRIDBOT_TEST_DATABASE_URL=${GRIDBOT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export GRIDBOT_TEST_REDIS_URL=${GRIDBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
go vet ./...
go test -race -count=1 -timeout 15m "$@" ./...
