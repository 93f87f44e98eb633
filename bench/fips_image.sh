#!/bin/sh
# Image scan speed: kensa fips scan on an OCI layout against what a user
# would otherwise run on the same blobs to merely list them
# (gzip -dc BLOB | tar -t, or zstd -dc). The layers are this machine's
# /usr/bin and /usr/lib/<multiarch> (or the directories given).
#
#   sh bench/fips_image.sh [DIR...]
#   KENSA_BENCH_ZSTD=1 sh bench/fips_image.sh
set -eu
cd "$(dirname "$0")/.."
out=bench/out
mkdir -p "$out"
[ $# -gt 0 ] || set -- /usr/bin "/usr/lib/$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)"
zflag=""; dec="gzip -dc"
if [ "${KENSA_BENCH_ZSTD:-}" = 1 ]; then zflag=-zstd; dec="zstd -dc"; fi
CGO_ENABLED=0 go build -o "$out/kensa" ./cmd/kensa # as the README builds it
go run ./bench/mkimage -o "$out/layout" $zflag "$@" > "$out/blobs"
echo "layers: $(wc -l < "$out/blobs"), compressed $(cat $(cat "$out/blobs") | wc -c) bytes"
sync
# Warm the page cache once, then time each side.
cat $(cat "$out/blobs") > /dev/null
t0=$(date +%s.%N)
for b in $(cat "$out/blobs"); do $dec "$b" | tar -t > /dev/null; done
t1=$(date +%s.%N)
"$out/kensa" fips scan --fail-on never --format json --output "$out/report.json" "oci-layout:$out/layout:bench"
t2=$(date +%s.%N)
base=$(echo "$t1 - $t0" | bc -l); kensa=$(echo "$t2 - $t1" | bc -l)
printf '%-40s %8.2f s\n' "$dec BLOB | tar -t (each layer)" "$base" "kensa fips scan oci-layout:…" "$kensa"
printf 'ratio kensa / listing: %.2f\n' "$(echo "$kensa / $base" | bc -l)"
python3 -c "import json;r=json.load(open('$out/report.json'));print('results:',r['summary']['results'],'verdicts:',r['summary']['verdicts'])" 2>/dev/null || true
