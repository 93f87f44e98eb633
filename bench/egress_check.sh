#!/usr/bin/env bash
# Figure: kensa egress check on 30 destinations in the network-namespace lab
# of internal/egress/reach (client → nftables firewall → servers; every
# packet stays on this machine), timed with the shell's time:
#   - 30 destinations, 3 of them dropped by the firewall (each waits for the
#     5 s TCP timeout), default --parallel;
#   - 30 that all answer (reachable, reset after the ClientHello, TLS alert,
#     interception, NXDOMAIN, REFUSED, Azure Firewall's 470);
#   - the first 30 again with --parallel 1 (one at a time), for the ratio.
# Needs root, ip, nft, squid, nc (.ci/install-deps).
#   bench/egress_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
KENSA_LAB_FIGURE=1 go test -count=1 -run '^TestNetnsFirewall$' -v ./internal/egress/reach/ 2>&1 |
	awk '/30 destinations|the same 30/ { print; show = 5; next } show > 0 && /real|exit=/ { print; show-- }'
