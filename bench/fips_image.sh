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
# Wall and CPU (user+sys of the process tree) for each side, from
# /usr/bin/time: the listing runs one blob at a time, kensa decodes
# several layers at once, so the two ratios differ.
tf="$out/time"
/usr/bin/time -f '%e %U %S' -o "$tf.list" sh -c "for b in \$(cat '$out/blobs'); do $dec \"\$b\" | tar -t > /dev/null; done"
/usr/bin/time -f '%e %U %S' -o "$tf.kensa" "$out/kensa" fips scan --fail-on never --format json --output "$out/report.json" "oci-layout:$out/layout:bench"
read -r bw bu bs < "$tf.list"; read -r kw ku ks < "$tf.kensa"
bc=$(echo "$bu + $bs" | bc -l); kc=$(echo "$ku + $ks" | bc -l)
printf '%-40s %8s %8s\n' "" "wall" "cpu"
printf '%-40s %8.2f %8.2f s\n' "$dec BLOB | tar -t (each layer)" "$bw" "$bc" "kensa fips scan oci-layout:…" "$kw" "$kc"
printf 'ratio kensa / listing: wall %.2f, cpu %.2f\n' "$(echo "$kw / $bw" | bc -l)" "$(echo "$kc / $bc" | bc -l)"
python3 -c "import json;r=json.load(open('$out/report.json'));print('results:',r['summary']['results'],'verdicts:',r['summary']['verdicts'])" 2>/dev/null || true
