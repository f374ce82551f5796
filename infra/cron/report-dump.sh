#!/usr/bin/env bash
# Reports a dump's outcome to the ChatOps bot at once (POST /hooks/dumps), signed with
# DUMP_WEBHOOK_SECRET. Needs bash, curl and openssl (and coreutils); nothing else.
#
#   report-dump.sh <job> <ok|failed> [exit-code] [message]
#
# Environment:
#   CHATOPS_URL               the bot's base URL, e.g. https://chatops.internal.example.com
#   DUMP_WEBHOOK_SECRET       the shared secret (or DUMP_WEBHOOK_SECRET_FILE: a file holding it)
#
# A crontab line that reports every run of a dump, with its exit code:
#
#   30 5 * * * /opt/cron/ggh_datatransit.sh; rc=$?; /opt/chatops/report-dump.sh ggh_datatransit "$([ $rc -eq 0 ] && echo ok || echo failed)" "$rc" "ggh_datatransit.sh exited $rc"
#
# `failed` raises (or updates) the day's alert at once; `ok` makes the bot check the uploaded object
# now instead of at the scheduled check. Exit status: 0 accepted, 1 refused or unreachable, 2 usage.
#
# The secret never appears on a command line (other users can read those in `ps`): the HMAC is
# computed here from openssl's plain SHA-256 (RFC 2104), with the key only in bash builtins and pipes.
set -euo pipefail

usage() {
  echo "usage: report-dump.sh <job> <ok|failed> [exit-code] [message]" >&2
  exit 2
}

[ $# -ge 2 ] && [ $# -le 4 ] || usage
job=$1
status=$2
code=${3:-}
message=${4:-}
[[ $job =~ ^[A-Za-z0-9_.-]{1,100}$ ]] || { echo "report-dump.sh: bad job name" >&2; exit 2; }
[[ $status == ok || $status == failed ]] || usage
[[ -z $code || $code =~ ^-?[0-9]{1,3}$ ]] || { echo "report-dump.sh: exit code must be a number" >&2; exit 2; }
: "${CHATOPS_URL:?set CHATOPS_URL to the base URL of the bot}"

secret=${DUMP_WEBHOOK_SECRET:-}
if [ -z "$secret" ] && [ -n "${DUMP_WEBHOOK_SECRET_FILE:-}" ]; then
  secret=$(<"$DUMP_WEBHOOK_SECRET_FILE")
fi
[ -n "$secret" ] || { echo "report-dump.sh: set DUMP_WEBHOOK_SECRET or DUMP_WEBHOOK_SECRET_FILE" >&2; exit 2; }

# JSON string: backslashes and quotes escaped, control characters dropped, at most 1000 characters.
json_string() {
  local s=${1:0:1000}
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  s=$(printf '%s' "$s" | LC_ALL=C tr -d '\000-\037')
  printf '"%s"' "$s"
}

# HMAC-SHA256(secret, stdin) in hex. printf is a bash builtin, so the key stays off the process list.
hmac_sha256_hex() {
  local key_hex ipad='' opad='' byte i
  if [ ${#secret} -gt 64 ]; then
    key_hex=$(printf '%s' "$secret" | openssl dgst -sha256 -binary | od -An -v -tx1 | tr -d ' \n')
  else
    key_hex=$(printf '%s' "$secret" | od -An -v -tx1 | tr -d ' \n')
  fi
  while [ ${#key_hex} -lt 128 ]; do key_hex+=00; done
  for ((i = 0; i < 128; i += 2)); do
    byte=$((16#${key_hex:i:2}))
    ipad+=$(printf '\\x%02x' $((byte ^ 0x36)))
    opad+=$(printf '\\x%02x' $((byte ^ 0x5c)))
  done
  local inner
  inner=$(mktemp)
  { printf '%b' "$ipad"; cat; } | openssl dgst -sha256 -binary >"$inner"
  local digest
  digest=$({ printf '%b' "$opad"; cat "$inner"; } | openssl dgst -sha256 -hex)
  rm -f "$inner"
  printf '%s' "${digest##* }"
}

body="{\"job\":\"$job\",\"status\":\"$status\""
if [ -n "$code" ]; then
  n=$((10#${code#-}))
  [[ $code == -* ]] && n=$((-n))
  body+=",\"exitCode\":$n"
fi
if [ -n "$message" ]; then body+=",\"message\":$(json_string "$message")"; fi
body+="}"

url="${CHATOPS_URL%/}/hooks/dumps"
for attempt in 1 2 3; do
  ts=$(date +%s)
  sig="v0=$(printf 'v0:%s:%s' "$ts" "$body" | hmac_sha256_hex)"
  out=$(mktemp)
  http=$(curl -sS -o "$out" -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/json' \
    -H "X-Chatops-Timestamp: $ts" \
    -H "X-Chatops-Signature: $sig" \
    --data-binary "$body" "$url") || http=000
  reply=$(head -c 500 "$out")
  rm -f "$out"
  case $http in
    2??) exit 0 ;;
    000 | 429 | 5??) echo "report-dump.sh: attempt $attempt: HTTP $http $reply" >&2 ;;
    *)
      echo "report-dump.sh: refused: HTTP $http $reply" >&2
      exit 1
      ;;
  esac
  if [ $attempt -lt 3 ]; then sleep $((attempt * 2)); fi
done
exit 1
