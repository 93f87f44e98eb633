#!/bin/sh
# Side by side on ~N live processes: `kensa fips host` (posture + every
# process classified: exe, maps, environ, cgroup, kernel flag as seen)
# against the shell loop a user would write today, which only greps the
# maps for fips.so:
#
#   for p in /proc/[0-9]*; do grep -l fips.so $p/maps; done; cat /proc/sys/crypto/fips_enabled
#
# It starts N copies of sleep (plus whatever runs already), warms both
# once (kensa's binary cache is per run: every run classifies each
# distinct executable once), prints the median wall time of RUNS runs of
# each and the ratio, then kills the sleeps it started.
#
#   bench/fips_host.sh [N] [RUNS]     (defaults: 1000 5)
set -eu
n=${1:-1000}
runs=${2:-5}
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
bin=$tmp/kensa
CGO_ENABLED=0 go build -o "$bin" ./cmd/kensa # as the README builds it
cp "$(command -v sleep)" "$tmp/sleep"
pids=""
cleanup() { [ -n "$pids" ] && kill $pids 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM
i=0
while [ "$i" -lt "$n" ]; do
	"$tmp/sleep" 600 &
	pids="$pids $!"
	i=$((i + 1))
done
sleep 1
total=$(ls -d /proc/[0-9]* | wc -l)

loop() {
	for p in /proc/[0-9]*; do grep -l fips.so "$p/maps"; done 2>/dev/null
	cat /proc/sys/crypto/fips_enabled 2>/dev/null || true
}

measure() { # label command...: median seconds of $runs runs
	label=$1
	shift
	"$@" >/dev/null 2>&1 || true
	i=0
	while [ "$i" -lt "$runs" ]; do
		s=$(date +%s.%N)
		"$@" >/dev/null 2>&1 || true
		e=$(date +%s.%N)
		echo "$s $e" | awk '{ printf "%.4f\n", $2 - $1 }'
		i=$((i + 1))
	done | sort -n | awk -v n="$runs" '{ t[NR] = $1 } END { print t[int((n + 1) / 2)] }'
}

sh_t=$(measure "shell loop" loop)
k_t=$(measure "kensa" "$bin" fips host --fail-on never)
k_json=$(measure "kensa json" "$bin" fips host --fail-on never --format json)
echo "processes in /proc: $total (of which $n sleep copies started by this script)"
echo "shell loop (grep -l fips.so maps + cat fips_enabled): median $sh_t s"
echo "kensa fips host (text):                             median $k_t s"
echo "kensa fips host --format json:                      median $k_json s"
awk -v s="$sh_t" -v k="$k_t" 'BEGIN { printf "ratio kensa / shell loop: %.2f (%d runs each, median)\n", k / s, '"$runs"' }'
