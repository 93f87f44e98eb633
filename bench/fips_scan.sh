#!/bin/sh
# Side by side: `kensa fips scan DIR` (every ELF executable and shared
# library, classified, dependencies resolved) against `go version DIR`
# (what a user would otherwise run; it looks at Go binaries only) and the
# bare walk `find DIR -type f -perm -u+x`, on a warm page cache. Prints
# the median wall time of RUNS runs of each, the ratios, the median CPU
# seconds (user + system) and the peak RSS (GNU time's %M). A second,
# fairer baseline row walks the same way and also opens every file kensa
# opens (an execute bit, a shared-library or Node-addon name, a jar, war,
# ear or java.security) and reads its
# first 64 bytes (`find … -exec head -qc 64 {} +`): kensa reads ELF
# headers, dynamic sections and read-only data of those files besides.
#
#   bench/fips_scan.sh [DIR] [RUNS]      (defaults: /usr 5)
set -eu
dir=${1:-/usr}
runs=${2:-5}
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/kensa
CGO_ENABLED=0 go build -o "$bin" ./cmd/kensa # as the README builds it
command -v /usr/bin/time >/dev/null || { echo "needs GNU time (apt-get install time)" >&2; exit 2; }

measure() { # label command...: prints "median_seconds max_rss_kib median_cpu_seconds"
	label=$1; shift
	"$@" >/dev/null 2>&1 || true # warm the cache
	: >/tmp/bench.$$.runs
	i=0
	while [ "$i" -lt "$runs" ]; do
		/usr/bin/time -f "%e %M %U %S" -o /tmp/bench.$$ "$@" >/dev/null 2>&1 || true
		tail -n 1 /tmp/bench.$$ | awk '{ print $1, $2, $3 + $4 }' >>/tmp/bench.$$.runs
		i=$((i + 1))
	done
	m=$(( (runs + 1) / 2 ))
	t=$(sort -n -k1,1 /tmp/bench.$$.runs | sed -n "${m}p" | awk '{ print $1 }')
	c=$(sort -n -k3,3 /tmp/bench.$$.runs | sed -n "${m}p" | awk '{ print $3 }')
	r=$(sort -n -k2,2 /tmp/bench.$$.runs | tail -n 1 | awk '{ print $2 }')
	echo "$t $r $c"
}

fd=$(measure find find "$dir" -type f -perm -u+x)
fh=$(measure heads find "$dir" -type f "(" -perm -u+x -o -name "*.so" -o -name "*.so.*" -o -name "*.node" -o -name "*.[jwe]ar" -o -name java.security ")" -exec head -qc 64 {} +)
gv=$(measure go go version "$dir")
ks=$(measure kensa "$bin" fips scan --fail-on never "$dir")
rm -f /tmp/bench.$$ /tmp/bench.$$.runs
row() { # title "median rss cpu"
	echo "$2" | awk -v title="$1" '{ printf "%-44s median %5.2f s, CPU %5.2f s, peak RSS %5.1f MiB\n", title, $1, $3, $2 / 1024 }'
}
row "find $dir -type f -perm -u+x:" "$fd"
row "find $dir (same files) + first 64 bytes:" "$fh"
row "go version $dir:" "$gv"
row "kensa fips scan $dir:" "$ks"
echo "$ks $fd $fh $gv" | awk -v n="$runs" '{
	printf "ratio kensa / find: %.2f (CPU %.2f), kensa / find+heads: %.2f (CPU %.2f), kensa / go version: %.2f (CPU %.2f)\n",
		$1 / $4, $3 / $6, $1 / $7, $3 / $9, $1 / $10, $3 / $12
	printf "(%d runs each, warm cache; ratios of medians)\n", n
}'
