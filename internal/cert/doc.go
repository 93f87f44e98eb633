// Package cert checks TLS certificate renewals: a new bundle before the
// change ([Check]) and what endpoints serve after it ([ProbeAll]).
//
// The model:
//   - A [Bundle] is what a user received or deployed: certificates (the
//     leaf first, then whatever intermediates came with it) and perhaps a
//     private key. [ParseBundle] reads PEM, DER, PKCS#12 and the private
//     key encodings (PKCS#1, PKCS#8, SEC1, encrypted PKCS#8) with every
//     read and allocation bounded. A private key is held only to compare
//     its public half; it is never part of a result or a record.
//   - Trust comes only from a [Roots] pool built from PEM bytes (a file,
//     the distribution bundle, or the Mozilla set of
//     golang.org/x/crypto/x509roots/fallback). Verification never uses
//     x509.SystemCertPool, so Go never hands it to the platform verifier
//     (which fetches missing intermediates through AIA on macOS and
//     Windows), and nothing here ever fetches an AIA URL: a chain is
//     complete only with the certificates the user supplied or the server
//     sent.
//   - Facts that change (the CA/Browser Forum validity schedule) are an
//     embedded data file with its source and as-of date; every evaluation
//     takes a time.
//   - Checks return [report.Finding]s with the ids of DESIGN.md; each
//     message says what is wrong and each remediation what to do.
package cert
