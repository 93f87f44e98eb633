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
# listing its layer blobs, as bench/mkimage writes them. Needs GNU date
# (nanoseconds) and bc, as on the Linux machines the figures come from.
set -eu
usage() { echo "usage: sh bench/fips_image_rounds.sh ROUNDS [KENSA_BINARY...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
rounds=$1; shift
case $rounds in '' | *[!0-9]*) usage ;; esac
[ "$rounds" -gt 0 ] || usage

# Paths as given, made absolute before the cd below.
abs() { case $1 in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
bins=""
for k in "$@"; do
	case $k in *[[:space:]]*) echo "a binary's path has a space: $k" >&2; exit 2 ;; esac
	[ -x "$k" ] || { echo "not an executable: $k" >&2; exit 2; }
	bins="$bins $(abs "$k")"
done
layout=${LAYOUT:+$(abs "$LAYOUT")}
blobs=${BLOBS:+$(abs "$BLOBS")}
cd "$(dirname "$0")/.."
layout=${layout:-bench/out/layout}
blobs=${blobs:-bench/out/blobs}
[ -n "$bins" ] || bins=bench/out/kensa
# shellcheck disable=SC2086 # paths without spaces, checked above
set -- $bins
[ -s "$blobs" ] || { echo "no $blobs: run sh bench/fips_image.sh first" >&2; exit 2; }

case "$(dd if="$(head -n 1 "$blobs")" bs=4 count=1 2> /dev/null | od -An -tx1 | tr -d ' \n')" in
28b52ffd) dec="zstd -dc" ;;
*) dec="gzip -dc" ;;
esac
command -v "${dec%% *}" > /dev/null || { echo "${dec%% *} is not installed" >&2; exit 2; }
# Once before the rounds: every blob decodes (a failing decoder inside the
# pipe below would pass for a fast listing) and is in the page cache.
for b in $(cat "$blobs"); do
	$dec "$b" > /dev/null || { echo "$dec $b failed" >&2; exit 1; }
done

mkdir -p bench/out
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
	awk -v k="$k" '$1 == k { print $2 + 0 }' "$out" | sort -n | awk -v k="$k" '
		{ r[NR] = $1 }
		END {
			m = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
			printf "%-32s ratio median %.3f  min %.3f  max %.3f\n", k, m, r[1], r[NR]
		}'
done
awk '{ print $3 + 0 }' "$out" | sort -n | awk '{ l[NR] = $1 } END { printf "listing median %.2f s\n", l[int((NR + 1) / 2)] }'
