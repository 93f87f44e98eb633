#!/bin/sh
# A fleet of images sharing base layers: kensa fips scan --images over N
# images built on M distinct bases, with the run's layer cache (the
# default: a shared layer is read once), against what a user would
# otherwise run: one kensa per image (each reading every layer of its
# image, two at a time like --jobs 2), and merely listing every image's
# layers (gzip -dc BLOB | tar -t, or zstd -dc). Time and peak memory
# (maximum resident set of the largest process) from /usr/bin/time.
#
#   sh bench/fips_fleet.sh                 # 300 images over 40 bases of 4 MiB
#   N=60 M=8 sh bench/fips_fleet.sh        # scaled down
#   KENSA_BENCH_ZSTD=1 sh bench/fips_fleet.sh
set -eu
cd "$(dirname "$0")/.."
N=${N:-300}; M=${M:-40}; BASE_MB=${BASE_MB:-4}
out=bench/out
mkdir -p "$out"
zflag=""; dec="gzip -dc"
if [ "${KENSA_BENCH_ZSTD:-}" = 1 ]; then zflag=-zstd; dec="zstd -dc"; fi
CGO_ENABLED=0 go build -o "$out/kensa" ./cmd/kensa # as the README builds it
go run ./bench/mkfleet -o "$out/fleet" -n "$N" -m "$M" -base-mb "$BASE_MB" $zflag > "$out/fleet.tsv"
cut -f1 "$out/fleet.tsv" > "$out/fleet.txt"
cut -f2- "$out/fleet.tsv" | tr '\t' '\n' > "$out/fleet-blobs"
sort -u "$out/fleet-blobs" > "$out/fleet-distinct"
echo "images: $N, distinct layers: $(wc -l < "$out/fleet-distinct") ($M bases), compressed $(cat $(cat "$out/fleet-distinct") | wc -c) bytes"
cat $(cat "$out/fleet-distinct") > /dev/null
t() { # label command...: prints label, wall seconds, peak KB
	label=$1; shift
	/usr/bin/time -f "%e %M" -o "$out/time" "$@" > /dev/null 2>&1 || true
	printf '%-52s %8.2f s %8d KB\n' "$label" $(cat "$out/time")
	cut -d' ' -f1 "$out/time" >> "$out/times"
}
: > "$out/times"
t "$dec | tar -t, every layer of every image" sh -c "for b in \$(cat $out/fleet-blobs); do $dec \$b | tar -t; done"
t "$dec | tar -t, each distinct layer once" sh -c "for b in \$(cat $out/fleet-distinct); do $dec \$b | tar -t; done"
t "kensa fips scan IMAGE, one process per image (-P2)" sh -c "xargs -P 2 -n 1 $out/kensa fips scan --fail-on never --format json --output /dev/null < $out/fleet.txt"
t "kensa fips scan --images (layer cache)" "$out/kensa" fips scan --fail-on never --jobs 2 --format json --output "$out/fleet.json" --images "$out/fleet.txt"
set -- $(cat "$out/times")
printf 'ratio per-image kensa / cached kensa: %.2f\n' "$(echo "$3 / $4" | bc -l)"
printf 'ratio cached kensa / listing every layer: %.2f; / listing distinct layers: %.2f\n' "$(echo "$4 / $1" | bc -l)" "$(echo "$4 / $2" | bc -l)"
python3 -c "import json;r=json.load(open('$out/fleet.json'));print('results:',r['summary']['results'],'images:',r['summary'].get('images'))" 2>/dev/null || true
