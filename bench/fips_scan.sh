#!/bin/sh
# Side by side: `kensa fips scan DIR` (every ELF executable and shared
# library, classified, dependencies resolved) against `go version DIR`
# (what a user would otherwise run; it looks at Go binaries only) and the
# bare walk `find DIR -type f -perm -u+x`, on a warm page cache. Prints
# the median wall time of RUNS runs of each, the ratios, and kensa's peak
# RSS (GNU time's %M).
#
#   bench/fips_scan.sh [DIR] [RUNS]      (defaults: /usr 5)
set -eu
dir=${1:-/usr}
runs=${2:-5}
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/kensa
go build -o "$bin" ./cmd/kensa
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

measure() { # label command...: prints "seconds maxrss_kib" per run
	label=$1; shift
	"$@" >/dev/null 2>&1 || true # warm the cache
	i=0
	while [ "$i" -lt "$runs" ]; do
		/usr/bin/time -f "%e %M" -o /tmp/bench.$$ "$@" >/dev/null 2>&1 || true
		cat /tmp/bench.$$
		i=$((i + 1))
	done | sort -n | awk -v label="$label" -v n="$runs" '
		{ t[NR] = $1; if ($2 > rss) rss = $2 }
		END { m = t[int((n + 1) / 2)]; printf "%s %s %d\n", label, m, rss }'
}

fd=$(measure "find" find "$dir" -type f -perm -u+x)
gv=$(measure "go version" go version "$dir")
ks=$(measure "kensa" "$bin" fips scan --fail-on never "$dir")
rm -f /tmp/bench.$$
echo "$fd" | awk '{ printf "find %s -type f -perm -u+x: median %.2f s\n", "'"$dir"'", $2 }'
echo "$gv" | awk '{ printf "go version %s:       median %.2f s, peak RSS %.1f MiB\n", "'"$dir"'", $3, $4 / 1024 }'
echo "$ks" | awk '{ printf "kensa fips scan %s:  median %.2f s, peak RSS %.1f MiB\n", "'"$dir"'", $2, $3 / 1024 }'
g=$(echo "$gv" | awk '{ print $3 }')
k=$(echo "$ks" | awk '{ print $2 }')
f=$(echo "$fd" | awk '{ print $2 }')
awk -v g="$g" -v k="$k" -v f="$f" 'BEGIN { printf "ratio kensa / go version: %.2f, kensa / find: %.2f (%d runs each, warm cache)\n", k / g, k / f, '"$runs"' }'
