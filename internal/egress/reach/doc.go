// Package reach probes, from where kensa runs, whether the outbound
// destinations a workload needs are reachable, layer by layer, and names
// where each one stops.
//
// The model: one [Target] (host, port, protocol, and the catalog row that
// says which service needs it) goes through the layers a real client
// goes through, in order, and the first layer that fails names the
// failure:
//
//	dns    the resolver the workload uses (resolv.conf, or --resolver):
//	       dns-nxdomain (the name does not exist), dns-timeout (no answer),
//	       dns-failed (SERVFAIL, REFUSED, no address)
//	proxy  with an explicit proxy (--proxy, or HTTPS_PROXY/HTTP_PROXY as the
//	       workload sees them, NO_PROXY honoured): the CONNECT answer (status
//	       and X-Squid-Error) is kept; a 403/407 is proxy-denied, a Squid 5xx
//	       is classified by its X-Squid-Error (ERR_DNS_FAIL, ERR_CONNECT_FAIL
//	       with errno) into the dns/tcp classes, anything else proxy-failed
//	tcp    connect to the first address: tcp-refused (RST or ICMP
//	       unreachable), tcp-timeout (dropped)
//	tls    handshake with the destination's name as SNI, verification off,
//	       then the served chain verified separately (never AIA) against the
//	       system roots plus --ca: tls-reset-after-hello (TCP was accepted,
//	       then the connection was reset or closed after the ClientHello —
//	       Azure Firewall's answer to a denied HTTPS destination, and why
//	       "nc -vz" and tcpping report such a destination reachable),
//	       tls-alert (the peer sent a TLS alert), tls-timeout (no answer to
//	       the ClientHello), tls-intercepted (a certificate for the right
//	       name from an issuer no trusted root vouches for: a TLS-inspecting
//	       middlebox), tls-failed (anything else: not TLS, expired, wrong name)
//	http   one minimal request (GET / over HTTP/1.1), its answer classified
//	       by [ClassifyHTTP]: Azure Firewall's deny (status 470, body
//	       "Action: Deny"), a Squid error page (X-Squid-Error), a captive
//	       portal (511, or a redirect to a login page elsewhere) are
//	       http-denied; any other answer — 200, 301, 401, 404 — means the
//	       destination's own server answered, which is all reachability needs.
//
// Every layer has its own timeout, destinations are probed concurrently
// (bounded), and nothing is sent anywhere but the named destinations, the
// resolver and the proxy. [Findings] turns the results into findings (one
// per blocked destination, its id the failure class, with the service that
// needs it and what fails without it); [Summarize] counts them.
package reach
