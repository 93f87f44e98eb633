#!/usr/bin/env bash
# Soak: kensa cert watch against N loopback TLS endpoints (FLAP of them
# refuse every handshake for a period, then serve, and so on) for DURATION
# seconds, scraped by a real Prometheus (Debian's prometheus package) with
# the shipped rules. Afterwards it reads Prometheus' API: memory and
# goroutines over the run (first vs last minutes), rounds completed, that
# every round held every handshake, and the flapping seen.
# Usage: bench/cert_watch_soak.sh [N] [DURATION_S] [FLAP]
#        (default 300 endpoints, 600 s, 20 flapping; needs openssl, prometheus,
#        curl, jq; writes bench/out/cert_watch_soak/)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-300}
DURATION=${2:-600}
FLAP=${3:-20}
INTERVAL=10s
OUT=bench/out/cert_watch_soak
rm -rf "$OUT"; mkdir -p "$OUT"
CGO_ENABLED=0 go build -o "$OUT/kensa" ./cmd/kensa # as the README builds it
go build -o "$OUT/tlsfleet" ./bench/tlsfleet
cd "$OUT"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout root.key -out root.pem \
	-subj "/CN=Soak Root" -days 3650 -addext basicConstraints=critical,CA:true -addext keyUsage=critical,keyCertSign 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr -subj "/CN=example.com" 2>/dev/null
printf 'subjectAltName=DNS:example.com\nextendedKeyUsage=serverAuth\n' > leaf.ext
openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key -CAcreateserial -out leaf.pem -days 90 -extfile leaf.ext 2>/dev/null

pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
./tlsfleet -n "$N" -flap "$FLAP" -period 45s -cert leaf.pem -key leaf.key -addrs addrs.txt &
pids+=($!)
for _ in $(seq 100); do [ -s addrs.txt ] && break; sleep 0.1; done
{
	echo "endpoints:"
	i=0
	while read -r a; do
		echo "  - {name: ep-$i, addresses: [$a], servernames: [example.com]}"
		i=$((i + 1))
	done < addrs.txt
} > targets.yaml

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
KPORT=$(port); PPORT=$(port)
./kensa cert watch --targets targets.yaml --roots root.pem --interval "$INTERVAL" --listen "127.0.0.1:$KPORT" 2> kensa.log &
pids+=($!)
KPID=$!
cat > prometheus.yml <<PEOF
global: {scrape_interval: 5s, evaluation_interval: 5s}
rule_files: [$PWD/../../../deploy/prometheus/kensa-cert-watch.rules.yml]
scrape_configs:
  - job_name: kensa
    static_configs: [{targets: ["127.0.0.1:$KPORT"]}]
PEOF
prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb --web.listen-address="127.0.0.1:$PPORT" 2> prometheus.log &
pids+=($!)
echo "soak: $N endpoints ($FLAP flapping), kensa :$KPORT (pid $KPID), prometheus :$PPORT, ${DURATION}s" >&2
sleep "$DURATION"

q() { curl -sG "http://127.0.0.1:$PPORT/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // "none"'; }
W="${DURATION}s"
{
	echo "soak: $N endpoints ($FLAP flapping every 45 s), --interval $INTERVAL, ${DURATION} s, $(nproc) cores"
	echo "rounds completed:              $(q 'kensa_cert_watch_rounds_total')"
	echo "handshakes per round min/max:  $(q "min_over_time(kensa_cert_watch_handshakes[$W])") / $(q "max_over_time(kensa_cert_watch_handshakes[$W])")"
	echo "round duration max (s):        $(q "max_over_time(kensa_cert_watch_round_duration_seconds[$W])")"
	echo "probe rate (handshakes/s):     $(q "avg_over_time(kensa_cert_watch_handshakes[$W]) / avg_over_time(kensa_cert_watch_round_duration_seconds[$W])") during a round; $(q "rate(kensa_cert_watch_rounds_total[$W]) * avg_over_time(kensa_cert_watch_handshakes[$W])") averaged over the run"
	echo "failed handshakes min/max:     $(q "min_over_time((count(kensa_cert_probe_success == 0) or vector(0))[$W:5s])") / $(q "max_over_time((count(kensa_cert_probe_success == 0) or vector(0))[$W:5s])")  (the flapping ones)"
	echo "goroutines first 2m / last 2m: min $(q "min_over_time(go_goroutines[2m] offset $((DURATION - 120))s)") / $(q 'min_over_time(go_goroutines[2m])'), max $(q "max_over_time(go_goroutines[2m] offset $((DURATION - 120))s)") / $(q 'max_over_time(go_goroutines[2m])') (min: between rounds; max: during one)"
	echo "RSS MiB first 2m / last 2m:    avg $(q "avg_over_time(process_resident_memory_bytes[2m] offset $((DURATION - 120))s) / 1048576") / $(q 'avg_over_time(process_resident_memory_bytes[2m]) / 1048576'), max $(q "max_over_time(process_resident_memory_bytes[2m] offset $((DURATION - 120))s) / 1048576") / $(q 'max_over_time(process_resident_memory_bytes[2m]) / 1048576')"
	echo "rounds per minute min/max:     $(q "min_over_time(increase(kensa_cert_watch_rounds_total[1m])[$((DURATION - 60))s:30s])") / $(q "max_over_time(increase(kensa_cert_watch_rounds_total[1m])[$((DURATION - 60))s:30s])")"
	echo "heap MiB first 2m / last 2m:   $(q "avg_over_time(go_memstats_heap_inuse_bytes[2m] offset $((DURATION - 120))s) / 1048576") / $(q 'avg_over_time(go_memstats_heap_inuse_bytes[2m]) / 1048576')"
	echo "scrape duration max (s):       $(q "max_over_time(scrape_duration_seconds{job=\"kensa\"}[$W])")"
	echo "series per scrape:             $(q 'scrape_samples_scraped{job="kensa"}')"
	echo "alerts firing now:             $(curl -s "http://127.0.0.1:$PPORT/api/v1/alerts" | jq -r '[.data.alerts[] | select(.state=="firing") | .labels.alertname] | group_by(.) | map("\(.[0])×\(length)") | join(", ")')"
} | tee result.txt
