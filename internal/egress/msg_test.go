package egress

import (
	"fmt"
	"testing"
)

func evString(ev *Event) string {
	return fmt.Sprintf("kind=%d proto=%s src=%s host=%s port=%d action=%s reason=%s rule=%q",
		ev.Kind, ev.Proto, ev.Src, ev.Host, ev.Port, ev.Action, ev.Reason, formatRule(string(ev.Rule)))
}

// TestParseMsgVariants covers every msg variant of the reference, with
// values of our own.
func TestParseMsgVariants(t *testing.T) {
	tests := []struct{ name, line, want string }{
		{"deny no rule", "HTTPS request from 10.0.2.254:50347 to app1.scm.azurewebsites.net:443. Action: Deny. No rule matched. Proceeding with default action",
			`kind=1 proto=HTTPS src=10.0.2.254 host=app1.scm.azurewebsites.net port=443 action=deny reason=no-rule-matched rule=""`},
		{"allow classic", "HTTPS request from 10.1.0.5:55640 to dest.example.com:443. Action: Allow. Rule Collection: c1. Rule: r1",
			`kind=1 proto=HTTPS src=10.1.0.5 host=dest.example.com port=443 action=allow reason=allowed rule="c1 / r1"`},
		{"web category", "HTTPS request from 10.1.2.4:53344 to www.example.com:443. Action: Allow. Rule Collection: RC. Rule: R. Web Category: SearchEnginesAndPortals",
			`kind=1 proto=HTTPS src=10.1.2.4 host=www.example.com port=443 action=allow reason=allowed rule="RC / R (web category SearchEnginesAndPortals)"`},
		{"policy path", "HTTPS request from 10.5.1.12:52214 to m.example.com:443. Action: Deny. Policy: pol-1. Rule Collection Group: G. Rule Collection: C-300. Rule: Block, things. Web Category: X",
			`kind=1 proto=HTTPS src=10.5.1.12 host=m.example.com port=443 action=deny reason=denied-by-rule rule="pol-1 / G / C-300 / Block, things (web category X)"`},
		{"other reason", "HTTPS request from 10.5.1.12:52215 to m.example.com:443. Action: Deny. Reason: Something new",
			`kind=1 proto=HTTPS src=10.5.1.12 host=m.example.com port=443 action=deny reason=denied-by-rule rule="Something new"`},
		{"url two spaces", "HTTP  request from 10.5.1.12:61903 to ocsp.example.com:80. Url: ocsp.example.com/MFE=. Action: Deny. No rule matched. Proceeding with default action",
			`kind=1 proto=HTTP src=10.5.1.12 host=ocsp.example.com port=80 action=deny reason=no-rule-matched rule=""`},
		{"resolve failure", "HTTPS request from 10.5.1.12:57318 to rt.example.net:443. Action: Deny. Failed to resolve address x.example.net:443: lookup x.example.net on 10.5.0.10:53: no such host",
			`kind=1 proto=HTTPS src=10.5.1.12 host=rt.example.net port=443 action=deny reason=name-unresolved rule=""`},
		{"sni missing", "HTTPS request from 10.5.1.12:7314. Action: Deny. Reason: SNI TLS extension was missing.",
			`kind=1 proto=HTTPS src=10.5.1.12 host= port=-1 action=deny reason=sni-missing rule=""`},
		{"sni missing, docs form", "HTTPS request from 10.5.1.12:7314 was denied. Reason: SNI TLS extension was missing.",
			`kind=1 proto=HTTPS src=10.5.1.12 host= port=-1 action=deny reason=sni-missing rule=""`},
		{"network no period", "TCP request from 198.18.1.1:12518 to 192.0.2.7:2323. Action: Deny",
			`kind=1 proto=TCP src=198.18.1.1 host=192.0.2.7 port=2323 action=deny reason=denied rule=""`},
		{"icmp trailing dot space", "ICMP Type=8 request from 172.16.4.7 to 192.0.2.45. Action: Deny. ",
			`kind=1 proto=ICMP src=172.16.4.7 host=192.0.2.45 port=-1 action=deny reason=denied rule=""`},
		{"allow double dot", "TCP request from 172.16.4.7:51022 to 192.0.2.45:22. Action: Allow.. Rule Collection: M. Rule: M",
			`kind=1 proto=TCP src=172.16.4.7 host=192.0.2.45 port=22 action=allow reason=allowed rule="M / M"`},
		{"deny double dot", "ICMP Type=8 request from 10.1.2.4:0 to 192.0.2.50:0. Action: Deny..",
			`kind=1 proto=ICMP src=10.1.2.4 host=192.0.2.50 port=0 action=deny reason=denied rule=""`},
		{"dnat", "TCP request from 172.16.4.7:52611 to 192.0.2.45:2222 was DNAT'ed to 10.7.0.4:22. Policy: p. Rule Collection Group: g. Rule Collection: c. Rule: r",
			`kind=3 proto=TCP src=172.16.4.7 host=192.0.2.45 port=2222 action=unknown reason= rule=""`},
		{"threat intel alert", "HTTP request from 10.0.0.5:54074 to bad.example.com:80. Action: Alert. ThreatIntel: Bot Networks",
			`kind=1 proto=HTTP src=10.0.0.5 host=bad.example.com port=80 action=alert reason=threat-intel rule="Bot Networks"`},
		{"threat intel deny url", "HTTP request from 172.16.4.7:60457 to ocsp.bad.example:80. Url: ocsp.bad.example. Action: Deny. ThreatIntel: Bot Networks",
			`kind=1 proto=HTTP src=172.16.4.7 host=ocsp.bad.example port=80 action=deny reason=threat-intel rule="Bot Networks"`},
		{"idps drop", "TCP request from 172.16.4.7:53127 to 198.51.100.3:443. Action: drop. Signature: 2099101. IDS: JA3 Hash - [Example.org] Possible Beacon. Priority: 3. Classification: Unknown Traffic",
			`kind=1 proto=TCP src=172.16.4.7 host=198.51.100.3 port=443 action=deny reason=idps rule="signature 2099101: JA3 Hash - [Example.org] Possible Beacon (Unknown Traffic)"`},
		{"idps alert empty ports", "ICMP request from 172.16.4.7: to 198.51.100.3:. Action: alert. Signature: 3. IDS: ICMP. Priority: 3. Classification: Misc activity",
			`kind=1 proto=ICMP src=172.16.4.7 host=198.51.100.3 port=-1 action=alert reason=idps rule="signature 3: ICMP (Misc activity)"`},
		{"dns en dash", "DNS Request: 11.5.0.7:48197 – 15676 AAA IN md-x.blob.core.windows.net. udp 55 false 512 NOERROR - 0 2.000301956s",
			`kind=2 proto= src=11.5.0.7 host= port=-1 action=unknown reason= rule=""`},
		{"dns error", " Error: 2 time.windows.com.reddog.microsoft.com. A: read udp 10.0.1.5:49126->168.63.129.160:53: i/o timeout",
			`kind=2 proto= src= host= port=-1 action=unknown reason= rule=""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ev Event
			ev.reset()
			if !parseMsg([]byte(tt.line), &ev) {
				t.Fatalf("parseMsg(%q) = false", tt.line)
			}
			if got := evString(&ev); got != tt.want {
				t.Errorf("parseMsg(%q)\n got %s\nwant %s", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseMsgRejects(t *testing.T) {
	for _, line := range []string{"", "HTTPS", "HTTPS request from", "HTTPS request from 1.2.3.4:5 to", "hello world",
		"HTTPS request from 1.2.3.4:5 to a.example:443. Action: Perhaps.", "HTTPS request from 1.2.3.4:5 to a.example:443 and more"} {
		var ev Event
		ev.reset()
		if parseMsg([]byte(line), &ev) {
			t.Errorf("parseMsg(%q) = true (%s), want false", line, evString(&ev))
		}
	}
}

func TestParseTime(t *testing.T) {
	for _, s := range []string{"2024-11-05T06:18:42.5170360Z", "2025-01-27T16:44:09.310482+00:00", "2021-09-09T08:48:08.126655+0000", "2024-11-05 06:18:42"} {
		got, ok := parseTime([]byte(s))
		want, ok2 := parseTimeString(s)
		if !ok || !ok2 || got != want {
			t.Errorf("parseTime(%q) = %d %v", s, got, ok)
		}
	}
	got, _ := parseTime([]byte("2021-09-09T08:48:08.126655+0000"))
	if s := formatTime(got); s != "2021-09-09T08:48:08.126655Z" {
		t.Errorf("formatTime = %s", s)
	}
	got, _ = parseTime([]byte("2021-09-09T10:48:08+02:00"))
	if s := formatTime(got); s != "2021-09-09T08:48:08Z" {
		t.Errorf("offset: %s", s)
	}
}
