#!/usr/bin/env bash
# Benchmark: kensa cert probe against a shell loop of openssl s_client doing
# the same checks, on N loopback endpoints × 3 server names (default 500 × 3
# = 1500 handshakes). The same checks, for each endpoint and name:
#   - TLS handshake with SNI,
#   - served chain verified against the root only (served intermediates
#     only; no system store): openssl -CAfile root.pem -no-CApath -no-CAstore,
#   - host name match (-verify_hostname) and validity dates,
#   - leaf SHA-256 fingerprint compared with the expected certificate.
# Usage: bench/cert_probe.sh [N]   (needs openssl and Go; writes bench/out/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-500}
OUT=bench/out/cert_probe
rm -rf "$OUT"; mkdir -p "$OUT"
CGO_ENABLED=0 go build -o "$OUT/kensa" ./cmd/kensa # as the README builds it
go build -o "$OUT/tlsfleet" ./bench/tlsfleet

# PKI: root → intermediate → ECDSA P-256 leaf for three names (openssl).
cd "$OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
	-subj "/CN=Bench Root" -days 3650 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout inter.key -out inter.csr -subj "/CN=Bench CA" 2>/dev/null
printf 'basicConstraints=critical,CA:true\nkeyUsage=critical,keyCertSign\n' > ca.ext
openssl x509 -req -in inter.csr -CA root.pem -CAkey root.key -CAcreateserial -out inter.pem -days 1800 -extfile ca.ext 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=example.com" 2>/dev/null
printf 'subjectAltName=DNS:example.com,DNS:www.example.com,DNS:api.example.com\nextendedKeyUsage=serverAuth\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -out leaf.pem -days 90 -extfile leaf.ext 2>/dev/null
cat leaf.pem inter.pem > fullchain.pem

./tlsfleet -n "$N" -cert fullchain.pem -key leaf.key -addrs addrs.txt &
FLEET=$!
trap 'kill $FLEET 2>/dev/null || true' EXIT
for _ in $(seq 50); do [ -s addrs.txt ] && break; sleep 0.1; done
NAMES="example.com www.example.com api.example.com"
{
	echo "endpoints:"
	echo "  - name: fleet"
	echo "    servernames: [example.com, www.example.com, api.example.com]"
	echo "    addresses:"
	sed 's/^/      - /' addrs.txt
} > targets.yaml

# kensa: one command.
start=$(date +%s.%N)
./kensa cert probe --targets targets.yaml --expect leaf.pem --roots root.pem --format json --output kensa.json || true
kensa_s=$(echo "$(date +%s.%N) - $start" | bc)
kensa_ok=$(grep -c '"expected": true' kensa.json || true)

# openssl: the loop a user would write.
want=$(openssl x509 -in leaf.pem -noout -fingerprint -sha256 | cut -d= -f2)
start=$(date +%s.%N)
ok=0
while read -r addr; do
	for name in $NAMES; do
		served=$(openssl s_client -connect "$addr" -servername "$name" -verify_hostname "$name" \
			-CAfile root.pem -no-CApath -no-CAstore -verify_return_error </dev/null 2>/dev/null |
			openssl x509 -noout -fingerprint -sha256 -checkend 0 2>/dev/null | head -1 | cut -d= -f2) || true
		[ "$served" = "$want" ] && ok=$((ok + 1))
	done
done < addrs.txt
openssl_s=$(echo "$(date +%s.%N) - $start" | bc)

handshakes=$((N * 3))
ratio=$(echo "scale=1; $openssl_s / $kensa_s" | bc)
printf 'handshakes: %d (%d endpoints × 3 names), ECDSA P-256 leaf, loopback, %s cores\n' "$handshakes" "$N" "$(nproc)"
printf 'kensa cert probe (concurrency 32): %6.2f s  %d verified\n' "$kensa_s" "$kensa_ok"
printf 'openssl s_client loop:             %6.2f s  %d verified\n' "$openssl_s" "$ok"
printf 'ratio (openssl / kensa): %sx\n' "$ratio"
