#!/bin/sh
# Interleaved rounds of bench/fips_image.sh's comparison, for differences
# smaller than this machine's noise (single runs vary by ±10% on the 2-core
# VM): each round lists the blobs (gzip -dc or zstd -dc BLOB | tar -t, one
# blob after the other) and then runs one kensa binary on the layout; the
# ratio kensa / listing of the same round is kept, and the median, minimum
# and maximum of each binary's ratios are printed. With several binaries
# (say the build of main and one of a branch), each round runs every one of
# them, in alternating order.
#
#   sh bench/fips_image.sh                    # or KENSA_BENCH_ZSTD=1 sh ...
#   sh bench/fips_image_rounds.sh 15 bench/out/kensa /tmp/kensa-branch
#   LAYOUT=dir BLOBS=file sh bench/fips_image_rounds.sh 9 ...   # another image
#
# LAYOUT is an OCI layout with an image tagged "bench" and BLOBS a file
# listing its layer blobs, as bench/mkimage writes them.
set -eu
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: sh bench/fips_image_rounds.sh ROUNDS [KENSA_BINARY...]" >&2; exit 2; }
rounds=$1; shift
[ $# -gt 0 ] || set -- bench/out/kensa
layout=${LAYOUT:-bench/out/layout}
blobs=${BLOBS:-bench/out/blobs}
[ -s "$blobs" ] || { echo "no $blobs: run sh bench/fips_image.sh first" >&2; exit 2; }
dec="gzip -dc"
[ "$(head -c 4 "$(head -n 1 "$blobs")" | od -An -tx1 | tr -d ' \n')" = 28b52ffd ] && dec="zstd -dc"
out=bench/out/rounds.txt
: > "$out"
now() { date +%s.%N; }
i=0
while [ "$i" -lt "$rounds" ]; do
	order="$*"
	if [ $((i % 2)) = 1 ]; then
		order=""
		for k in "$@"; do order="$k $order"; done
	fi
	for k in $order; do
		t0=$(now)
		for b in $(cat "$blobs"); do $dec "$b" | tar -t > /dev/null; done
		t1=$(now)
		"$k" fips scan --fail-on never --format json --output bench/out/rounds.json "oci-layout:$layout:bench"
		t2=$(now)
		echo "$k $(echo "($t2 - $t1) / ($t1 - $t0)" | bc -l) $(echo "$t1 - $t0" | bc -l)" >> "$out"
	done
	i=$((i + 1))
done
echo "$dec, $rounds rounds (ratios in $out):"
for k in "$@"; do
	awk -v k="$k" '$1 == k { print $2 }' "$out" | sort -g | awk -v k="$k" '
		{ r[NR] = $1 }
		END {
			m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
			printf "%-32s ratio median %.3f  min %.3f  max %.3f\n", k, m, r[1], r[NR]
		}'
done
awk '{ print $3 }' "$out" | sort -g | awk '{ l[NR] = $1 } END { printf "listing median %.2f s\n", l[int((NR + 1) / 2)] }'
