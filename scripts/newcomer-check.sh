#!/usr/bin/env bash
# Times the README's newcomer path on a fresh clone of this repo: install, test, dev server, a dev
# token, then create, list, update and delete a task with curl. Fails on any unexpected status.
#   bash scripts/newcomer-check.sh [port]
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
port=${1:-8799}
work=$(mktemp -d)
dev_pid=
cleanup() {
  [ -n "$dev_pid" ] && kill -- -"$dev_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

git clone -q "$repo" "$work/tasks-api"
cd "$work/tasks-api"
start=$SECONDS
last=$SECONDS
# Each step's own time, then the path's so far.
step() {
  printf '%-34s %4ss %6s\n' "$1" $((SECONDS - last)) "($((SECONDS - start))s)"
  last=$SECONDS
}

npm install --no-audit --no-fund >"$work/install.log" 2>&1 || { cat "$work/install.log"; exit 1; }
step 'npm install'
npm test >"$work/test.log" 2>&1 || { tail -40 "$work/test.log"; exit 1; }
passed=$(sed 's/\x1b\[[0-9;]*m//g' "$work/test.log" | grep -oE 'Tests +[0-9]+ passed' | grep -oE '[0-9]+' | awk '{ n += $1 } END { print n }')
step "npm test ($passed passed)"

setsid npm run dev -- --port "$port" >"$work/dev.log" 2>&1 &
dev_pid=$!
for _ in $(seq 1 120); do
  curl -sf "localhost:$port/health" >/dev/null && break
  sleep 0.5
done
curl -sf "localhost:$port/health" >/dev/null || { cat "$work/dev.log"; exit 1; }
step 'npm run dev: serving'

token=$(npm run -s token -- newcomer --email newcomer@example.com)
api() { # method path expected-status [json]
  local out status
  out=$(curl -s -w '\n%{http_code}' -X "$1" "localhost:$port$2" -H "Authorization: Bearer $token" \
    ${4:+-H 'Content-Type: application/json' -d "$4"})
  status=${out##*$'\n'}
  [ "$status" = "$3" ] || { echo "$1 $2: expected $3, got $status: ${out%$'\n'*}"; exit 1; }
  printf '%s' "${out%$'\n'*}"
}
id=$(api POST /tasks 201 '{"title":"First task"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
api GET /tasks 200 | grep -q "$id"
api PATCH "/tasks/$id" 200 '{"completed":true}' | grep -q '"completed":true'
api DELETE "/tasks/$id" 204
api GET "/tasks/$id" 404 >/dev/null
step 'curl: create, list, update, delete'
echo "newcomer path: $((SECONDS - start))s (targets: the path under 300s; npm test under 180s on 2 cores)"
