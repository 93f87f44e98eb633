package cert

import (
	"encoding/asn1"
	"strings"
	"testing"
)

// scryptKey builds an EncryptedPrivateKeyInfo (PBES2, scrypt, AES-256-CBC)
// asking for the given scrypt parameters; the ciphertext is junk, as in a
// hostile file.
func scryptKey(t *testing.T, n, r, p int) []byte {
	t.Helper()
	must := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	kdfParams := must(asn1.Marshal(scryptParams{Salt: make([]byte, 8), CostParameter: n, BlockSize: r, ParallelizationParameter: p}))
	iv := must(asn1.Marshal(make([]byte, 16)))
	params := must(asn1.Marshal(pbes2Params{
		KeyDerivationFunc: algorithmIdentifier{Algorithm: oidScrypt, Parameters: asn1.RawValue{FullBytes: kdfParams}},
		EncryptionScheme:  algorithmIdentifier{Algorithm: oidAES256CBC, Parameters: asn1.RawValue{FullBytes: iv}},
	}))
	return must(asn1.Marshal(encryptedPrivateKeyInfo{
		Algorithm:     algorithmIdentifier{Algorithm: oidPBES2, Parameters: asn1.RawValue{FullBytes: params}},
		EncryptedData: make([]byte, 32),
	}))
}

// TestScryptMemoryBound: scrypt needs 128·N·r bytes. A key file asking
// for N=2^21, r=2 (512 MiB) or N=2^17, r=8 (128 MiB) is refused before any
// derivation, as OpenSSL refuses more than 32 MiB; OpenSSL's own default
// (N=2^14, r=8: 16 MiB) is accepted.
func TestScryptMemoryBound(t *testing.T) {
	for _, tc := range []struct{ n, r, p int }{{1 << 21, 2, 1}, {1 << 17, 8, 1}, {1 << 14, 8, 1 << 12}} {
		_, err := DecryptPKCS8(scryptKey(t, tc.n, tc.r, tc.p), []byte("pw"))
		if err == nil || !strings.Contains(err.Error(), "scrypt parameters") {
			t.Errorf("N=%d r=%d p=%d: err = %v, want the scrypt bound", tc.n, tc.r, tc.p, err)
		}
	}
	if _, err := DecryptPKCS8(scryptKey(t, 1<<14, 8, 1), []byte("pw")); err == nil || strings.Contains(err.Error(), "scrypt parameters") {
		t.Errorf("OpenSSL's default N=2^14 r=8 p=1: err = %v, want a wrong password, not the bound", err)
	}
}
