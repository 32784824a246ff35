#!/bin/sh
# Signs a delivery the way dspsync checks it and posts it: HMAC-SHA256 over "TIMESTAMP.BODY" (the
# exact bytes sent), hex, in X-Signature with the prefix sha256=; the timestamp in X-Timestamp.
# usage: DEEZER_WEBHOOK_SECRET=... ./send.sh [delivery.json] [http://127.0.0.1:9464/webhooks/deezer-updates]
# For tests: openssl receives the secret on its command line, where other local users can see it.
set -eu
file=${1:-"$(dirname "$0")/delivery.json"}
url=${2:-http://127.0.0.1:9464/webhooks/deezer-updates}
: "${DEEZER_WEBHOOK_SECRET:?set DEEZER_WEBHOOK_SECRET to the endpoint's webhook secret}"
body=$(cat "$file")
ts=$(date +%s)
sig=$(printf '%s.%s' "$ts" "$body" | openssl dgst -sha256 -hmac "$DEEZER_WEBHOOK_SECRET" -hex | sed 's/^.* //')
curl -sS -X POST "$url" -H 'Content-Type: application/json' \
     -H "X-Timestamp: $ts" -H "X-Signature: sha256=$sig" --data-binary "$body"
