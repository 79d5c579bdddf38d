#!/usr/bin/env bash
# Installs the pinned coding agents (package.json, package-lock.json) that
# internal/e2e/agents_test.go drives through the gateway, and prints the
# directory holding their executables (FULCRUM_TEST_AGENTS). Both packages
# ship native binaries; Claude Code's needs its install.cjs run once.
set -euo pipefail
cd "$(dirname "$0")"
want_claude=$(node -p 'require("./package.json").dependencies["@anthropic-ai/claude-code"]')
want_codex=$(node -p 'require("./package.json").dependencies["@openai/codex"]')
have() { [ -x "node_modules/.bin/$1" ] && "node_modules/.bin/$1" --version 2>/dev/null | grep -qF "$2"; }
if ! have claude "$want_claude" || ! have codex "$want_codex"; then
  npm ci --no-audit --no-fund --loglevel=error >&2
  node node_modules/@anthropic-ai/claude-code/install.cjs >&2
fi
have claude "$want_claude" || { echo "claude $want_claude did not install" >&2; exit 1; }
have codex "$want_codex" || { echo "codex $want_codex did not install" >&2; exit 1; }
echo "$PWD/node_modules/.bin"
