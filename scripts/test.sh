#!/usr/bin/env bash
# The test command: real PostgreSQL and Redis, go vet, and the race-enabled
# test suite. A test that needs a server fails (never skips) without it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
export GRIDBOT_TEST_DATABASE_URL=${GRIDBOT_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
export GRIDBOT_TEST_REDIS_URL=${GRIDBOT_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
go vet ./...
go test -race -count=1 -timeout 15m "$@" ./...
