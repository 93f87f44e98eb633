package cert_test

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/cert/certtest"
)

func readInventoryFixture(t *testing.T, inv *cert.Inventory, names ...string) {
	t.Helper()
	for _, n := range names {
		f := filepath.Join("testdata", "inventory", n)
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := inv.AddAWS(f, data); err != nil {
			t.Fatal(err)
		}
	}
}

// TestInventoryAWS reads seed 002's scenario (testdata/inventory/README.md)
// and checks the targets written and the findings.
func TestInventoryAWS(t *testing.T) {
	inv := cert.NewInventory()
	readInventoryFixture(t, inv, "acm-describe.json", "acm-list.json", "elbv2.json", "listener-certs-f2f7dc8efc522ab2.json")
	inv.Resolve()
	if len(inv.Problems) > 0 {
		t.Fatalf("problems: %v", inv.Problems)
	}
	tg := inv.Targets()
	var got []string
	for _, e := range tg.Endpoints {
		got = append(got, e.Name+" "+strings.Join(e.Addresses, ",")+" "+strings.Join(e.ServerNames, ","))
	}
	want := []string{
		"alb-shop-a:443 alb-shop-a-1234567890.ap-northeast-1.elb.amazonaws.com:443 shop.example.jp,www.shop.example.jp",
		"alb-shop-b:443 alb-shop-b-2345678901.ap-northeast-1.elb.amazonaws.com:443 shop.example.jp,www.shop.example.jp",
		"nlb-api:8443 nlb-api-a3f5c2d1e4b6a7c8.elb.ap-northeast-1.amazonaws.com:8443 api.example.jp",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("targets (-want +got):\n%s", d)
	}
	// The written targets file reads back with ParseTargets.
	out, err := yaml.Marshal(tg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cert.ParseTargets(out); err != nil {
		t.Errorf("the written targets do not parse: %v\n%s", err, out)
	}
	mineData, _ := os.ReadFile("testdata/inventory/mine.yaml")
	mine, err := cert.ParseTargets(mineData)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	fs := inv.InventoryFindings(cert.InventoryOptions{At: at, Targets: mine})
	var ids []string
	for _, f := range fs {
		ids = append(ids, string(f.Severity)+" "+f.ID+" "+f.Subject)
	}
	wantIDs := []string{
		"error inventory-lb-not-in-targets alb-shop-b",
		"warning inventory-old-cert-attached alb-shop-a",
		"error inventory-expiring-not-renewed api.example.jp (0a1b2c3d-3333-4aaa-8bbb-000000000003)",
		"info inventory-unused-certificate legacy.example.jp (0a1b2c3d-4444-4aaa-8bbb-000000000004)",
	}
	if d := cmp.Diff(wantIDs, ids); d != "" {
		t.Errorf("findings (-want +got):\n%s", d)
	}
	// Without the user's targets there is no "not in targets"; a day
	// after the old certificate's renewal was attached nowhere (alb-shop-a
	// dropped), the old one is expiring without renewal.
	fs = inv.InventoryFindings(cert.InventoryOptions{At: at})
	for _, f := range fs {
		if f.ID == "inventory-lb-not-in-targets" {
			t.Errorf("without --targets: %s", f.Message)
		}
	}
}

// TestInventoryListenerCertsUnknown: a describe-listener-certificates
// output that names no listener, with no listener id in its name and a
// default certificate no listener has, is a problem, not a guess.
func TestInventoryListenerCertsUnknown(t *testing.T) {
	inv := cert.NewInventory()
	readInventoryFixture(t, inv, "elbv2.json")
	if err := inv.AddAWS("certs.json", []byte(`{"Certificates":[{"CertificateArn":"arn:aws:acm:x:1:certificate/zzz","IsDefault":true}]}`)); err != nil {
		t.Fatal(err)
	}
	inv.Resolve()
	if len(inv.Problems) != 1 || !strings.Contains(inv.Problems[0], "ListenerArn") {
		t.Errorf("problems = %v", inv.Problems)
	}
	// With ListenerArn it is attached.
	inv = cert.NewInventory()
	readInventoryFixture(t, inv, "elbv2.json")
	inv.AddAWS("certs.json", []byte(`{"ListenerArn":"arn:aws:elasticloadbalancing:ap-northeast-1:111122223333:listener/app/alb-shop-b/6d0ecf831eec9f09/9d6a4b8e2c1f0a35",
		"Certificates":[{"CertificateArn":"arn:aws:acm:x:1:certificate/zzz","IsDefault":false}]}`))
	inv.Resolve()
	for _, l := range inv.Listeners {
		if strings.HasSuffix(l.ID, "9d6a4b8e2c1f0a35") && (len(l.Extra) != 1 || l.Extra[0] != "arn:aws:acm:x:1:certificate/zzz") {
			t.Errorf("listener certificates = %v", l.Extra)
		}
	}
}

func TestInventoryRefusesUnknownShapes(t *testing.T) {
	for _, in := range []string{``, `{}`, `{"Foo": 1}`, `[1]`, `{"Certificate": {"DomainName": "x"}}`, `{"LoadBalancers": [{}]}`, `nul`} {
		inv := cert.NewInventory()
		if err := inv.AddAWS("x.json", []byte(in)); err == nil {
			t.Errorf("AddAWS(%q) = nil", in)
		}
	}
	for _, in := range []string{``, `{}`, `{"id": "/subscriptions/s/other/x"}`, `[{"name": 1}]`} {
		inv := cert.NewInventory()
		if err := inv.AddAzure("x.json", []byte(in)); err == nil {
			t.Errorf("AddAzure(%q) = nil", in)
		}
	}
}

// pkcs7 wraps certificates in a degenerate PKCS#7 SignedData (as
// "openssl crl2pkcs7 -nocrl" writes it).
func pkcs7(t *testing.T, certs ...*x509.Certificate) []byte {
	t.Helper()
	var raw []byte
	for _, c := range certs {
		raw = append(raw, c.Raw...)
	}
	sd, err := asn1.Marshal(struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      struct{ Type asn1.ObjectIdentifier }
		Certificates     asn1.RawValue
		SignerInfos      asn1.RawValue
	}{1, asn1.RawValue{Tag: asn1.TagSet, IsCompound: true}, struct{ Type asn1.ObjectIdentifier }{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}},
		asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: raw},
		asn1.RawValue{Tag: asn1.TagSet, IsCompound: true}})
	if err != nil {
		t.Fatal(err)
	}
	ci, err := asn1.Marshal(struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue
	}{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: sd}})
	if err != nil {
		t.Fatal(err)
	}
	return ci
}

// azureGateway builds "az network application-gateway show" output (or
// ARM's, with properties) for a gateway holding an old and a new
// certificate for shop.example, its listener on the new one.
func azureGateway(t *testing.T, arm bool, oldData, newData string) []byte {
	gw := "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shop/providers/Microsoft.Network/applicationGateways/agw-shop"
	sslCert := func(name, data string) map[string]any {
		m := map[string]any{"name": name, "id": gw + "/sslCertificates/" + name, "type": "Microsoft.Network/applicationGateways/sslCertificates"}
		props := map[string]any{"publicCertData": data, "provisioningState": "Succeeded"}
		if arm {
			m["properties"] = props
		} else {
			for k, v := range props {
				m[k] = v
			}
		}
		return m
	}
	listener := map[string]any{"protocol": "Https", "hostName": "shop.example",
		"frontendPort":            map[string]any{"id": gw + "/frontendPorts/port-443"},
		"frontendIPConfiguration": map[string]any{"id": gw + "/frontendIPConfigurations/private"},
		"sslCertificate":          map[string]any{"id": gw + "/sslCertificates/shop-2026"}}
	httpListener := map[string]any{"protocol": "Http", "hostName": "shop.example", "frontendPort": map[string]any{"id": gw + "/frontendPorts/port-80"}}
	port := func(name string, p int) map[string]any {
		if arm {
			return map[string]any{"name": name, "id": gw + "/frontendPorts/" + name, "properties": map[string]any{"port": p}}
		}
		return map[string]any{"name": name, "id": gw + "/frontendPorts/" + name, "port": p}
	}
	fip := map[string]any{"name": "private", "id": gw + "/frontendIPConfigurations/private", "privateIPAddress": "10.20.0.4"}
	props := map[string]any{
		"sslCertificates":          []any{sslCert("shop-2025", oldData), sslCert("shop-2026", newData)},
		"httpListeners":            []any{withName("https-shop", gw, listener, arm), withName("http-shop", gw, httpListener, arm)},
		"frontendPorts":            []any{port("port-443", 443), port("port-80", 80)},
		"frontendIPConfigurations": []any{fip},
	}
	doc := map[string]any{"name": "agw-shop", "id": gw, "location": "japaneast", "type": "Microsoft.Network/applicationGateways"}
	if arm {
		doc["properties"] = props
	} else {
		for k, v := range props {
			doc[k] = v
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func withName(name, gw string, props map[string]any, arm bool) map[string]any {
	m := map[string]any{"name": name, "id": gw + "/httpListeners/" + name}
	if arm {
		m["properties"] = props
		return m
	}
	for k, v := range props {
		m[k] = v
	}
	return m
}

// TestInventoryAzure: the same gateway as az prints it and as ARM returns
// it, publicCertData as DER and as PKCS#7.
func TestInventoryAzure(t *testing.T) {
	p := newPKI(t)
	at := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	oldLeaf, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"shop.example"}, KeyType: certtest.P256, NotBefore: at.AddDate(0, 0, -80), Days: 90})
	newLeaf, _ := p.inter.Issue(certtest.Leaf{DNS: []string{"shop.example"}, KeyType: certtest.P256, NotBefore: at.AddDate(0, 0, -5), Days: 90})
	for _, arm := range []bool{false, true} {
		oldData := base64.StdEncoding.EncodeToString(pkcs7(t, oldLeaf, p.inter.Cert))
		newData := base64.StdEncoding.EncodeToString(newLeaf.Raw)
		inv := cert.NewInventory()
		if err := inv.AddAzure("appgw.json", azureGateway(t, arm, oldData, newData)); err != nil {
			t.Fatalf("arm=%v: %v", arm, err)
		}
		inv.Resolve()
		if len(inv.Problems) > 0 {
			t.Fatalf("arm=%v: %v", arm, inv.Problems)
		}
		tg := inv.Targets()
		if len(tg.Endpoints) != 1 {
			t.Fatalf("arm=%v: %d endpoints", arm, len(tg.Endpoints))
		}
		e := tg.Endpoints[0]
		if d := cmp.Diff(cert.Endpoint{Name: "agw-shop/https-shop", Addresses: []string{"shop.example:443", "10.20.0.4:443"},
			ServerNames: []string{"shop.example"}, NoSNI: true, Expect: []string{cert.Fingerprint(newLeaf)}}, e); d != "" {
			t.Errorf("arm=%v: endpoint (-want +got):\n%s", arm, d)
		}
		fs := inv.InventoryFindings(cert.InventoryOptions{At: at})
		if got := strings.Join(ids(fs), ","); got != "warning inventory-old-cert-attached" {
			t.Errorf("arm=%v: findings %s", arm, got)
		}
	}
	// ssl-cert list alone: the certificates, with their names and dates.
	list, _ := json.Marshal([]any{map[string]any{"name": "shop-2025",
		"id":             "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/applicationGateways/agw/sslCertificates/shop-2025",
		"publicCertData": base64.StdEncoding.EncodeToString(pkcs7(t, oldLeaf))}})
	inv := cert.NewInventory()
	if err := inv.AddAzure("certs.json", list); err != nil {
		t.Fatal(err)
	}
	if len(inv.Certs) != 1 || inv.Certs[0].SHA256 != cert.Fingerprint(oldLeaf) || !inv.Certs[0].NotAfter.Equal(oldLeaf.NotAfter) {
		t.Errorf("certs = %+v", inv.Certs)
	}
}

func FuzzInventoryAWS(f *testing.F) {
	for _, n := range []string{"acm-describe.json", "acm-list.json", "elbv2.json", "listener-certs-f2f7dc8efc522ab2.json"} {
		data, err := os.ReadFile(filepath.Join("testdata", "inventory", n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`[{"Certificate":{"CertificateArn":"a","NotAfter":1e300}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv := cert.NewInventory()
		inv.AddAWS("fuzz.json", data)
		inv.Resolve()
		inv.Targets()
		inv.InventoryFindings(cert.InventoryOptions{At: time.Unix(1e9, 0), Targets: &cert.Targets{Endpoints: []cert.Endpoint{{Addresses: []string{"x:1"}}}}})
	})
}

func FuzzInventoryAzure(f *testing.F) {
	f.Add([]byte(`{"id":"/subscriptions/s/x/applicationGateways/g","name":"g","sslCertificates":[{"id":"/subscriptions/s/x/applicationGateways/g/sslCertificates/c","publicCertData":"MAA="}],"httpListeners":[{"protocol":"Https","hostName":"a.example","sslCertificate":{"id":"/subscriptions/s/x/applicationGateways/g/sslCertificates/c"}}]}`))
	f.Add([]byte(`[{"id":"/x/applicationGateways/g/sslCertificates/c","properties":{"publicCertData":"MIIBCgYJKoZIhvcNAQcCoIH8MIH5AgEBMQA="}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		inv := cert.NewInventory()
		inv.AddAzure("fuzz.json", data)
		inv.Resolve()
		inv.Targets()
		inv.InventoryFindings(cert.InventoryOptions{At: time.Unix(1e9, 0)})
	})
}
