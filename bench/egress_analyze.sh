#!/usr/bin/env bash
# Side-by-side: kensa egress analyze vs mawk on the same Azure Firewall
# legacy-text log (default 256 MiB), generated here with a fixed seed.
#
#   bench/egress_analyze.sh [SIZE_MIB]
#
# mawk runs the one-liner a user would reach for (count deny lines by a
# field); kensa does the full parse: every line's protocol, source,
# destination, port, action, reason and time, the aggregation by
# destination with distinct sources and first/last seen, and the report.
# Prints both times, kensa's peak memory, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
size_mib=${1:-256}
work=${BENCH_DIR:-/tmp/kensa-bench}
mkdir -p "$work"
log="$work/azfw-${size_mib}MiB.log"

if ! command -v mawk >/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mawk >/dev/null
	else
		echo "bench: mawk is not installed (apt-get install mawk)" >&2
		exit 1
	fi
fi

CGO_ENABLED=0 go build -o "$work/kensa" ./cmd/kensa # as the README builds it

if [ ! -s "$log" ]; then
	echo "generating $log" >&2
	# A mix of what an application-rule and network-rule log holds: 60 %
	# denies (no rule matched, explicit rule, resolution failure), allows
	# with rule paths and web categories, HTTP lines with Url:, network
	# lines, DNS proxy lines. Each line starts with its TimeGenerated.
	mawk -v target=$((size_mib * 1024 * 1024)) 'BEGIN {
		srand(42)
		split("contoso-build.scm.azurewebsites.net oryx-cdn.microsoft.io pypi.org files.pythonhosted.org registry.npmjs.org api.nuget.org mcr.microsoft.com eastus.data.mcr.microsoft.com registry-1.docker.io proxy.golang.org", hosts, " ")
		bytes = 0; n = 0
		while (bytes < target) {
			n++
			h = hosts[int(rand() * 10) + 1]
			src = sprintf("10.%d.%d.%d:%d", int(rand()*4), int(rand()*16), int(rand()*250)+1, 1024 + int(rand()*60000))
			ts = sprintf("2026-11-%02dT%02d:%02d:%02d.%07dZ", 20 + int(rand()*4), int(rand()*24), int(rand()*60), int(rand()*60), int(rand()*10000000))
			r = rand()
			if (r < 0.45) line = sprintf("HTTPS request from %s to %s:443. Action: Deny. No rule matched. Proceeding with default action", src, h)
			else if (r < 0.55) line = sprintf("HTTP  request from %s to %s:80. Url: %s/simple/pkg-%d/. Action: Deny. No rule matched. Proceeding with default action", src, h, h, n % 1000)
			else if (r < 0.60) line = sprintf("HTTPS request from %s to %s:443. Action: Deny. Policy: fwp-hub. Rule Collection Group: DefaultApplicationRuleCollectionGroup. Rule Collection: block. Rule: block-%d", src, h, n % 7)
			else if (r < 0.85) line = sprintf("HTTPS request from %s to %s:443. Action: Allow. Policy: fwp-hub. Rule Collection Group: Apps. Rule Collection: allow-300. Rule: deps. Web Category: ComputersAndTechnology", src, h)
			else if (r < 0.95) line = sprintf("TCP request from %s to 203.0.113.%d:%d. Action: Deny. ", src, int(rand()*250)+1, (rand() < 0.5 ? 445 : 1194))
			else line = sprintf("DNS Request: %s - %d A IN %s. udp 46 false 512 NOERROR qr,rd,ra 148 0.002613904s", src, n % 65536, h)
			print ts "\t" line
			bytes += length(ts) + length(line) + 2
		}
	}' > "$log"
fi
ls -l "$log" >&2
cat "$log" > /dev/null # warm the page cache for both

# The machine may be shared: the load average and CPU seconds (user+sys)
# are printed beside the wall-clock times.
t() { /usr/bin/time -f '%e %M %U %S' "$@" 2> "$work/time.txt" > "$work/out.txt"; cat "$work/time.txt" | tail -1; }
echo "load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores" >&2
echo "== mawk '/Action: Deny/ {c[\$5]++} END {for (k in c) print c[k], k}'" >&2
read -r mawk_s mawk_kb mawk_u mawk_sys < <(t mawk '/Action: Deny/ {c[$5]++} END {for (k in c) print c[k], k}' "$log")
echo "mawk:  ${mawk_s}s wall, $(awk -v a="$mawk_u" -v b="$mawk_sys" 'BEGIN{print a+b}')s CPU, ${mawk_kb} KiB peak" >&2
echo "== kensa egress analyze --format json" >&2
read -r kensa_s kensa_kb kensa_u kensa_sys < <(t sh -c "'$work/kensa' egress analyze --format json '$log'; test \$? -le 1")
echo "kensa: ${kensa_s}s wall, $(awk -v a="$kensa_u" -v b="$kensa_sys" 'BEGIN{print a+b}')s CPU, ${kensa_kb} KiB peak" >&2
echo "kensa found: $(grep -c '"host"' "$work/out.txt") destinations" >&2
awk -v a="$mawk_s" -v b="$kensa_s" 'BEGIN { printf "ratio mawk/kensa = %.2f (above 1: kensa is faster)\n", a / b }'
