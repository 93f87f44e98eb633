package report

import (
	"crypto/sha256"
	"encoding/hex"
)

// Fingerprint identifies a finding across runs: the same problem of the
// same subject has the same fingerprint tomorrow, whatever its message
// says then ("expires in 12 days" becomes "in 11 days"), whatever else
// the report holds and in whatever order. It is what `kensa report diff`
// keys on and what SARIF carries as partialFingerprints, so code
// scanning dashboards and diff agree on what is new.
//
// It hashes the finding ID and the fields that name the subject: Subject,
// Address, ServerName, Path and Image. Message, severity, citation and
// remediation are left out on purpose: they may change (new wording, a
// module moving to the Historical list) while the problem stays the same.
// The result is 32 hex digits (128 bits of SHA-256).
func (f Finding) Fingerprint() string {
	h := sha256.New()
	for _, s := range []string{fingerprintVersion, f.ID, f.Subject, f.Address, f.ServerName, f.Path, f.Image} {
		// Length-prefixed, so ("a b", "c") and ("a", "b c") differ.
		var n [4]byte
		n[0], n[1], n[2], n[3] = byte(len(s)>>24), byte(len(s)>>16), byte(len(s)>>8), byte(len(s))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// fingerprintVersion is hashed in: a change of what the fingerprint
// covers changes the version, and SARIF names it (kensaFinding/v1).
const fingerprintVersion = "v1"

// SARIFFingerprintKey is the partialFingerprints key kensa's SARIF uses.
const SARIFFingerprintKey = "kensaFinding/" + fingerprintVersion
