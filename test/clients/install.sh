#!/usr/bin/env bash
# Installs the pinned client libraries (package.json, package-lock.json)
# that internal/e2e/clients_test.go drives through the gateway, and prints
# this directory (FULCRUM_TEST_CLIENTS).
set -euo pipefail
cd "$(dirname "$0")"
stamp=node_modules/.fulcrum-installed
# npm ci again only when the lock file changed since the last install.
if ! cmp -s package-lock.json "$stamp"; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
node --input-type=module -e 'for (const p of ["openai", "@anthropic-ai/sdk", "ai", "@ai-sdk/openai", "@ai-sdk/anthropic", "@langchain/openai", "@langchain/anthropic", "@openai/agents", "zod"]) await import(p)' ||
  { echo "the client libraries did not install" >&2; exit 1; }
echo "$PWD"
