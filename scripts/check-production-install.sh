#!/usr/bin/env bash
# The production install, for real: copy this tree (the working tree's tracked and untracked,
# non-ignored files) into a temporary directory with a copy of node_modules, build it, prune
# the dev dependencies (`npm prune --omit=dev`, what `npm ci --omit=dev` leaves on a built
# tree), and run every `payreq` command there: `npm run migrate`, the database commands
# (`orgs create|list|add-key`), `npm run start:prod` (the server, on a port it picks itself),
# a payment request created and paid over /v1, every client command against that server
# (keys, parties, accounts, requests, `events tail`, `webhooks listen`), /docs and
# /openapi.json, then SIGTERM and exit code 0. Any failing step fails the script (non-zero).
#
# Usage: bash scripts/check-production-install.sh   (needs node, npm, curl; node_modules installed)
# PAYREQ_KEEP_TMP=1 keeps the temporary directory for a look afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
SOURCE=$PWD
started_at=$(date +%s)

step() { printf '\n== [%3ss] %s\n' "$(($(date +%s) - started_at))" "$*"; }
fail() { printf 'FAILED: %s\n' "$*" >&2; exit 1; }

[ -d node_modules ] || fail "node_modules is missing: run npm ci first"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/payreq-prod.XXXXXX")
SERVER_PID=""
BG_PIDS=()
cleanup() {
  local status=$?
  for pid in "${BG_PIDS[@]}" $SERVER_PID; do kill "$pid" 2>/dev/null || true; done
  if [ "$status" -ne 0 ] && [ -f "$TMP/server.log" ]; then
    printf '\n-- server log (last 40 lines) --\n' >&2
    tail -n 40 "$TMP/server.log" >&2 || true
  fi
  if [ "${PAYREQ_KEEP_TMP:-}" = "1" ]; then echo "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$status"
}
trap cleanup EXIT

step "copy the tree to $TMP/app (node_modules copied, not linked)"
mkdir "$TMP/app"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done \
  | tar --null -T - -cf - | tar -xf - -C "$TMP/app"
cp -a node_modules "$TMP/app/node_modules"
cd "$TMP/app"

step "build, then prune the dev dependencies"
npm run --silent build
npm prune --omit=dev --no-audit --no-fund --loglevel=error
# (typescript stays: viem names it as an optional peer, and npm keeps an installed one.)
for dev in tsx vitest @types/node eslint pino-pretty; do
  [ ! -e "node_modules/$dev" ] || fail "dev dependency $dev is still installed after the prune"
done
echo "pruned: tsx, vitest, @types/node, eslint and pino-pretty are gone"

export PAYREQ_DATABASE_URL="sqlite:$TMP/data/payreq.db"
export PAYREQ_SECRET_KEY
PAYREQ_SECRET_KEY=$(node -e 'process.stdout.write(require("node:crypto").randomBytes(32).toString("hex"))')
export PAYREQ_BOOTSTRAP_API_KEY=prq_test_productioninstallcheck0001
export PAYREQ_API_KEY=$PAYREQ_BOOTSTRAP_API_KEY
P="node dist/src/cli.js"
# `field <name>` prints a field of the JSON document on stdin (node: no jq needed).
field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s)[process.argv[1]];if(v===undefined)process.exit(1);process.stdout.write(String(v))})' "$1"; }

# The commands (and subcommands) `payreq --help` lists, and those this script runs below: a command
# added to the CLI and not run here fails the check until a step below runs it.
EXERCISED="serve migrate backup restore orgs:create orgs:list orgs:add-key keys:create keys:list keys:revoke parties:create accounts:create accounts:fund
  requests:create requests:get requests:list requests:cancel requests:approve events:tail webhooks:listen"
commands_of() { $P "$@" --help | awk '/^Commands:/ { listing = 1; next } listing && /^  [a-z]/ { print $1 }' | grep -v '^help$' || true; }
step "payreq --help, and --help of every command"
$P --help >/dev/null || fail "payreq --help"
LISTED=""
for c in $(commands_of); do
  $P "$c" --help >/dev/null || fail "payreq $c --help"
  subs=$(commands_of "$c")
  [ -n "$subs" ] || LISTED="$LISTED $c"
  for sub in $subs; do
    $P "$c" "$sub" --help >/dev/null || fail "payreq $c $sub --help"
    LISTED="$LISTED $c:$sub"
  done
done
for c in $LISTED; do
  case " $(echo $EXERCISED) " in *" $c "*) ;; *) fail "payreq ${c/:/ } is not run by this script: add a step that runs it, and name it in EXERCISED" ;; esac
done
[ -n "$LISTED" ] || fail "payreq --help lists no commands"
echo "ok:$LISTED"

step "npm run migrate (no tsx), twice"
npm run --silent migrate | tee "$TMP/migrate.out"
grep -q '^applied: ' "$TMP/migrate.out" || fail "the first migrate applied nothing"
[ "$(npm run --silent migrate)" = "nothing to migrate" ] || fail "the second migrate was not a no-op"
[ "$($P migrate --dry-run)" = "none" ] || fail "migrate --dry-run lists pending migrations after migrate"

# `npm run start:prod`'s own command, run without npm in between (as a supervisor should run it:
# npm answers SIGTERM with exit code 143 whatever the server's own exit code).
START=$(node -p 'require("./package.json").scripts["start:prod"]')
step "$START  (npm run start:prod; port 0: the server picks a free port and logs it)"
# shellcheck disable=SC2086
PAYREQ_PORT=0 PAYREQ_LOG_LEVEL=info $START >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
URL=""
for _ in $(seq 1 200); do
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited before listening"
  URL=$(node -e 'for (const l of require("fs").readFileSync(process.argv[1],"utf8").split("\n")) { try { const j=JSON.parse(l); if (j.msg==="payreq listening") { process.stdout.write(j.url); break } } catch {} }' "$TMP/server.log")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "$URL" ] || fail "the server did not log 'payreq listening'"
curl -fsS "$URL/healthz" >/dev/null || fail "GET /healthz"
echo "listening on $URL"
export PAYREQ_URL=$URL
API="$URL/v1"
AUTH="Authorization: Bearer $PAYREQ_API_KEY"
post() { curl -fsS -H "$AUTH" -H 'content-type: application/json' -d "$2" "$API$1"; }

step "GET /openapi.json and /docs (swagger-ui's static files)"
curl -fsS "$URL/openapi.json" | field openapi >/dev/null || fail "/openapi.json"
curl -fsSL "$URL/docs" | grep -qi 'swagger' || fail "/docs"
echo "ok"

step "client commands in the background: events tail, webhooks listen (to a local receiver)"
node -e 'const s=require("http").createServer((q,r)=>{q.resume();q.on("end",()=>{r.statusCode=204;r.end()})}).listen(0,"127.0.0.1",()=>console.log(s.address().port))' >"$TMP/receiver.port" &
BG_PIDS+=($!)
for _ in $(seq 1 50); do [ -s "$TMP/receiver.port" ] && break; sleep 0.1; done
RECEIVER="http://127.0.0.1:$(cat "$TMP/receiver.port")/hook"
$P events tail --json >"$TMP/tail.out" 2>&1 &
BG_PIDS+=($!)
$P webhooks listen --json --forward-to "$RECEIVER" >"$TMP/listen.out" 2>&1 &
BG_PIDS+=($!)
sleep 1

step "a payment request created and paid over /v1 (curl)"
ANA=$(post /parties '{"type":"user","username":"ana"}' | field id)
BEN=$(post /parties '{"type":"user","username":"ben"}' | field id)
ANA_ACC=$(post /accounts "{\"partyId\":\"$ANA\",\"currency\":\"USD\"}" | field id)
BEN_ACC=$(post /accounts "{\"partyId\":\"$BEN\",\"currency\":\"USD\"}" | field id)
post "/test-helpers/accounts/$BEN_ACC/fund" '{"amount":"100"}' >/dev/null
PR=$(curl -fsS -H "$AUTH" -H 'content-type: application/json' -H 'Idempotency-Key: prod-check-1' \
  -d "{\"amount\":\"25.50\",\"currency\":\"USD\",\"payee\":{\"accountId\":\"$ANA_ACC\"},\"payer\":{\"username\":\"ben\"},\"expiresIn\":3600}" \
  "$API/payment-requests" | field id)
STATUS=$(post "/payment-requests/$PR/approve" "{\"accountId\":\"$BEN_ACC\"}" | field status)
[ "$STATUS" = "paid" ] || fail "the request is $STATUS after approve, not paid"
echo "request $PR: paid"

step "every client command against the server"
$P parties create --type user --username cleo
CLEO=$($P parties create --json --type user --username dan | field id)
CLEO_ACC=$($P accounts create --json --party "$CLEO" --currency USD | field id)
$P accounts create --party "$CLEO" --currency EUR
$P accounts fund "$CLEO_ACC" 40
PR2=$($P requests create --json --amount 12.25 --currency USD --payee "$ANA_ACC" --payer-party "$CLEO" --description 'production install check' | field id)
$P requests get "$PR2"
[ "$($P requests approve --json "$PR2" --account "$CLEO_ACC" | field status)" = "paid" ] || fail "requests approve did not pay"
PR3=$($P requests create --json --amount 1 --currency USD --payee "$ANA_ACC" | field id)
[ "$($P requests cancel --json "$PR3" | field status)" = "cancelled" ] || fail "requests cancel"
$P requests list --status paid
[ "$($P requests list --json --status paid | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).data.length))')" = "2" ] || fail "requests list --status paid does not show both paid requests"
KEY_ID=$($P keys create --json --grant payment_requests:read --name prod-check | field id)
$P keys list
[ "$($P keys revoke --json "$KEY_ID" | field id)" = "$KEY_ID" ] || fail "keys revoke"

step "events tail and webhooks listen saw the payments"
for _ in $(seq 1 50); do
  grep -q '"payment_request.paid"' "$TMP/tail.out" && grep -q '"type":"payment_request.paid","status":204' "$TMP/listen.out" && break
  sleep 0.1
done
grep -q '"payment_request.paid"' "$TMP/tail.out" || { cat "$TMP/tail.out"; fail "events tail printed no payment_request.paid"; }
grep -q '"type":"payment_request.paid","status":204' "$TMP/listen.out" || { cat "$TMP/listen.out"; fail "webhooks listen forwarded no payment_request.paid"; }
echo "events tail: $(wc -l <"$TMP/tail.out") events; webhooks listen: $(($(wc -l <"$TMP/listen.out") - 1)) deliveries answered"
for pid in "${BG_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
BG_PIDS=()

step "payreq backup beside the running server"
$P backup "$TMP/backup.db"
[ -s "$TMP/backup.db" ] || fail "payreq backup wrote no file"
if $P restore "$TMP/backup.db" 2>"$TMP/restore.err"; then fail "payreq restore overwrote the database of a running server"; fi
grep -q 'in use' "$TMP/restore.err" || { cat "$TMP/restore.err"; fail "payreq restore beside a server did not say the database is in use"; }
echo "ok: backed up; restore refused while the server runs"

step "SIGTERM: the server stops and exits 0"
kill -TERM "$SERVER_PID"
set +e
wait "$SERVER_PID"
code=$?
set -e
SERVER_PID=""
[ "$code" -eq 0 ] || fail "the server exited with $code after SIGTERM"
echo "exit code 0"

step "payreq restore, with the server stopped"
$P restore "$TMP/backup.db"
echo "ok"

step "the database commands, with the server stopped"
ORG=$($P orgs create --json --name 'Production Check' | field id)
$P orgs list
$P orgs add-key --org "$ORG" --mode test --name ops >/dev/null
[ "$($P orgs list --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).length))')" = "2" ] || fail "orgs list does not show two orgs"
echo "ok"

cd "$SOURCE"
printf '\nproduction install: every command ran on a pruned tree (%s s, node %s)\n' "$(($(date +%s) - started_at))" "$(node --version)"
