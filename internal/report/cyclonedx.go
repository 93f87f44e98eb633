package report

import (
	"io"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// CycloneDXVersion is the CycloneDX specification version kensa writes.
const CycloneDXVersion = cdx.SpecVersion1_6

// cycloneDXSchema is the $schema of a CycloneDX 1.6 BOM.
const cycloneDXSchema = "http://cyclonedx.org/schema/bom-1.6.schema.json"

// WriteCycloneDX writes bom as CycloneDX 1.6 JSON. The domain builds the
// BOM (fips.CBOM) with 1.6 fields only; this only encodes it.
//
// It does not use the library's EncodeVersion: cyclonedx-go v0.12.0's
// down-conversion does not list "cryptographic-asset" among the
// component types of any version and rewrites every crypto asset to
// "application", which would empty a CBOM of its point.
func WriteCycloneDX(w io.Writer, bom *cdx.BOM) error {
	b := *bom
	b.SpecVersion = CycloneDXVersion
	b.JSONSchema = cycloneDXSchema
	return cdx.NewBOMEncoder(w, cdx.BOMFileFormatJSON).SetPretty(true).SetEscapeHTML(false).Encode(&b)
}
