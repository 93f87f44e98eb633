package cert

import "github.com/kensa-project/kensa/internal/report"

const (
	citeRenewalNewer    = "kensa renewal check: a renewal must expire later than what it replaces"
	citeRenewalServed   = "kensa renewal check: every endpoint × name must serve the new certificate"
	citeUnchecked       = "kensa: an endpoint that could not be checked counts as a finding, never as success"
	citeExpiryThreshold = "kensa expiry threshold (default: a third of the lifetime, as cert-manager renews at two thirds)"
	citeKeyReuse        = "NIST SP 800-57 Part 1 Rev. 5 §5.3 (cryptoperiods); CA/B BR §6.1.1.3"
	citeInventory       = "kensa inventory: AWS ACM DescribeCertificate.InUseBy, ELBv2 DescribeListenerCertificates (IsDefault), Azure Application Gateway sslCertificates and httpListeners; field report on load-balancer certificate renewals (a renewed certificate missing from a second load balancer)"
	citeMaxValidity     = "CA/Browser Forum TLS Baseline Requirements §6.3.2 (ballot SC-081): maximum validity by issuance date (kensa data validity.json)"
)

// Checks is the catalog of the cert commands' findings (check and probe):
// every ID they emit, once, in the order of the renewal's six ways to go
// wrong (docs/cert.md).
var Checks = []report.Check{
	{ID: "key-mismatch", Severity: report.Error, Title: "the private key does not match the certificate",
		Citation: citeKeyMatch, Help: "The certificate's public key is not the public half of the key given. Install the key the certificate was issued for, or have the certificate reissued from this key's CSR."},
	{ID: "chain-incomplete", Severity: report.Error, Title: "the chain is incomplete without AIA fetching",
		Citation: citeChain + "; " + citeAIA, Help: "An intermediate is missing (named, with where to get it) or a supplied one is not the issuer. Browsers hide this by fetching AIA; other clients fail with \"unable to get local issuer certificate\". Serve the intermediate after the leaf."},
	{ID: "chain-extra", Severity: report.Warning, Title: "the chain holds certificates it does not need",
		Citation: citeChain, Help: "The root, a duplicate of the leaf, or an unrelated or stale intermediate is served. Remove it (a cross-signed root may be kept for old clients)."},
	{ID: "chain-order", Severity: report.Error, Title: "the chain is out of order",
		Citation: citeChain, Help: "The leaf is not first, or an issuer comes before what it issued. Write the chain leaf first, each certificate followed by its issuer."},
	{ID: "san-dropped", Severity: report.Error, Title: "a name of the certificate in service is not covered by the new one",
		Citation: citeRenewalSAN, Help: "Clients that use the dropped name fail after the change. Have the certificate reissued with every name of the one it replaces."},
	{ID: "san-added", Severity: report.Info, Title: "the new certificate covers names the one in service does not",
		Citation: citeRenewalSAN, Help: "Worth knowing: check that the new names are meant."},
	{ID: "hostname-not-covered", Severity: report.Error, Title: "a --servername is not covered by the certificate",
		Citation: citeHostname, Help: "The certificate has no DNS or IP SAN that matches the name (a wildcard covers one leftmost label). Have it reissued with the name."},
	{ID: "hostname-mismatch", Severity: report.Error, Title: "the endpoint serves a certificate that does not cover the name asked for",
		Citation: citeHostname, Help: "The listener's certificate (or its SNI selection) is wrong for this name. Check which certificate the listener serves for the name."},
	{ID: "not-newer", Severity: report.Error, Title: "the new certificate does not expire later than the one it replaces",
		Citation: citeRenewalNewer, Help: "An older or wrong certificate was picked. Check the file or the certificate store the change installs."},
	{ID: "stale-certificate", Severity: report.Error, Title: "an endpoint does not serve the expected certificate",
		Citation: citeRenewalServed, Help: "A listener, a second load balancer or an SNI entry still serves the old certificate. Install the new one there; --baseline shows the rollback plan."},
	{ID: "certificates-differ", Severity: report.Error, Title: "the addresses of one endpoint serve different certificates",
		Citation: citeRenewalServed, Help: "Without --expect, this is how a forgotten listener or second load balancer shows: one address still serves the old certificate. Install the new certificate everywhere; with --expect NEW.crt each odd address is a stale-certificate finding instead."},
	{ID: "subject-changed", Severity: report.Info, Title: "the subject changed against the certificate in service",
		Citation: citeRenewalChange, Help: "Worth knowing: check that the change is meant."},
	{ID: "issuer-changed", Severity: report.Info, Title: "the issuer changed against the certificate in service",
		Citation: citeRenewalChange, Help: "A new CA or intermediate: check that clients trust its root and that the new intermediate is served."},
	{ID: "key-reused", Severity: report.Warning, Title: "the new certificate reuses the key of the one in service",
		Citation: citeKeyReuse, Help: "Renewal is the time to rotate the key. Generate a new key and CSR unless reuse is your policy."},
	{ID: "expired", Severity: report.Error, Title: "the certificate has expired as of --at",
		Citation: citeValidity, Help: "Clients reject it. Install a renewed certificate."},
	{ID: "not-yet-valid", Severity: report.Error, Title: "the certificate is not yet valid as of --at",
		Citation: citeValidity, Help: "Clients reject it until notBefore (check the clock of the issuing system, or wait)."},
	{ID: "expires-soon", Severity: report.Warning, Title: "less validity is left than --min-remaining",
		Citation: citeExpiryThreshold, Help: "Renew it before it expires."},
	{ID: "validity-too-long", Severity: report.Error, Title: "the validity exceeds the CA/Browser Forum maximum for its issuance date",
		Citation: citeMaxValidity, Help: "Publicly trusted clients reject it. Have it reissued with a shorter validity, or use --private for a private PKI."},
	{ID: "weak-key", Severity: report.Error, Title: "the key is too weak",
		Citation: citeBRKeys, Help: "RSA under 2048 bits, a small exponent, or a curve outside P-256, P-384 and P-521. Reissue with a stronger key."},
	{ID: "weak-signature", Severity: report.Error, Title: "the certificate is signed with a weak algorithm",
		Citation: citeSP800131A, Help: "SHA-1, MD5, MD2 or DSA signatures are disallowed. Have it reissued with SHA-256 or better."},
	{ID: "key-not-publicly-trusted", Severity: report.Warning, Title: "the key algorithm (Ed25519, Ed448) is not allowed for publicly trusted certificates",
		Citation: citeBRKeyAlgorithms, Help: "FIPS 186-5 approves EdDSA, but the CA/Browser Forum does not allow it for TLS server certificates. Use RSA or ECDSA, or --private for a private PKI."},
	{ID: "handshake-failed", Severity: report.Error, Title: "no TLS handshake with the endpoint",
		Citation: citeUnchecked, Help: "The endpoint could not be reached or refused the handshake; it counts as a finding, never as success. The message says why (refused, no answer in time, a TLS alert)."},
	// cert probe --tls-posture and cert watch (docs/cert-watch.md).
	{ID: "tls-no-pq", Severity: report.Info, Title: "the endpoint accepts no hybrid post-quantum group offered alone",
		Citation: citePQ, Help: "X25519MLKEM768, SecP256r1MLKEM768 and SecP384r1MLKEM1024 were each offered alone and refused. Traffic recorded today can be decrypted by a future quantum computer. Enable X25519MLKEM768 on the listener."},
	{ID: "tls-no-cnsa2-group", Severity: report.Info, Title: "the endpoint does not accept SecP384r1MLKEM1024 (CNSA 2.0)",
		Citation: citeCNSA2, Help: "CNSA 2.0 requires ML-KEM-1024; of the hybrid groups only SecP384r1MLKEM1024 carries it. Matters for National Security Systems; the message names the next milestone after --at."},
	{ID: "tls-fips-incompatible", Severity: report.Warning, Title: "a client in FIPS 140-3 mode could not use the endpoint",
		Citation: citeFIPS, Help: "A ClientHello with only what Go's FIPS 140-3 policy allows failed, or the session it got is one a FIPS client refuses (TLS 1.2 without Extended Master Secret, a non-approved suite or certificate key). The message lists the reasons."},
	{ID: "cert-file-unreadable", Severity: report.Error, Title: "a watched certificate file could not be read",
		Citation: citeUnchecked, Help: "A --file or a file under --dir could not be read or holds no certificate (a PKCS#12 file with a password, a key, a truncated file). It is not watched until it can be read."},
	{ID: "stale-on-some-addresses", Severity: report.Error, Title: "some addresses of an endpoint serve another certificate than most of them",
		Citation: citeRenewalServed, Help: "With no expect for the endpoint, the certificate most of its addresses serve is taken as the expected one; the addresses that serve another one were missed by the renewal (or are ahead of it). Install the same certificate everywhere."},
	// cert inventory (docs/cert-watch.md).
	{ID: "inventory-lb-not-in-targets", Severity: report.Error, Title: "a load balancer uses the certificate but is not among your targets",
		Citation: citeInventory, Help: "The cloud says this load balancer or gateway uses the certificate (ACM InUseBy, a listener's certificate list, an Application Gateway listener) but the targets you probe do not include it: the second load balancer a renewal forgets. Add it (the written targets file has it) and probe it."},
	{ID: "inventory-old-cert-attached", Severity: report.Warning, Title: "a replaced certificate is still attached to a listener",
		Citation: citeInventory, Help: "The listener's default certificate was replaced but the old one is still in its certificate list (AWS adds the previous default there by default) or on the gateway. SNI may still select it. Remove it once the new one is served everywhere."},
	{ID: "inventory-expiring-not-renewed", Severity: report.Error, Title: "a certificate in use expires before its renewal is attached anywhere",
		Citation: citeInventory, Help: "A certificate that load balancers use expires within the threshold and no certificate for the same names with a later expiry is attached to any of them. Attach the renewal (import it to ACM or Key Vault and set it on each listener)."},
	{ID: "inventory-unused-certificate", Severity: report.Info, Title: "a certificate is attached to nothing",
		Citation: citeInventory, Help: "Worth knowing: nothing uses it. Delete it when it is no longer the renewal waiting to be attached."},
}
