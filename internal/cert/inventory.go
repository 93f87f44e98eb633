package cert

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kensa-project/kensa/internal/report"
)

// The cloud's inventory: which load balancers use which certificate, read
// from the JSON the cloud CLIs print (kensa never calls a cloud API). From
// it kensa writes a targets file of every TLS listener and finds what a
// probe cannot see: a load balancer that uses a certificate but is not
// among the user's targets (seed 002's forgotten second ALB), a replaced
// certificate still attached to a listener, and a certificate in use that
// expires before its renewal is attached anywhere.
//
// Fields read (everything else is ignored; unknown shapes are refused
// with the file's name):
//
//	aws acm describe-certificate   Certificate.{CertificateArn, DomainName,
//	                               SubjectAlternativeNames, NotBefore,
//	                               NotAfter, InUseBy, Status, Type,
//	                               RenewalEligibility}
//	aws acm list-certificates      CertificateSummaryList[].{CertificateArn,
//	                               DomainName, SubjectAlternativeNameSummaries,
//	                               InUse, NotBefore, NotAfter, Status, Type}
//	aws elbv2 describe-load-balancers  LoadBalancers[].{LoadBalancerArn,
//	                               LoadBalancerName, DNSName, Type}
//	aws elbv2 describe-listeners   Listeners[].{ListenerArn, LoadBalancerArn,
//	                               Port, Protocol, Certificates[].CertificateArn}
//	aws elbv2 describe-listener-certificates  Certificates[].{CertificateArn,
//	                               IsDefault}; the listener is the file's
//	                               "ListenerArn" key (add it with jq), the
//	                               listener id in the file's name, or the
//	                               one listener whose default certificate
//	                               the file names
//	az network application-gateway show  name, id, sslCertificates[],
//	                               httpListeners[].{name, protocol, hostName,
//	                               hostNames, frontendPort.id,
//	                               frontendIPConfiguration.id,
//	                               sslCertificate.id}, frontendPorts[].{id,
//	                               port}, frontendIPConfigurations[].{id,
//	                               privateIPAddress} (az's flattened output
//	                               or ARM's "properties")
//	az network application-gateway ssl-cert list  [].{name, id,
//	                               publicCertData, keyVaultSecretId}
//
// Times are read as RFC 3339 strings (AWS CLI v2) or epoch seconds (v1).

// Inventory limits.
const (
	// MaxInventoryFile bounds one saved CLI output.
	MaxInventoryFile = 64 << 20
	// MaxInventoryItems bounds the certificates, load balancers and
	// listeners of one inventory.
	MaxInventoryItems = 100_000
)

// InvCert is a certificate the cloud knows.
type InvCert struct {
	Kind      string    `json:"kind"` // "certificate"
	ID        string    `json:"id"`
	Cloud     string    `json:"cloud"` // aws, azure
	Names     []string  `json:"names,omitempty"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	// InUseBy are the resources the cloud says use it (ACM InUseBy).
	InUseBy []string `json:"in_use_by,omitempty"`
	// InUse is ACM's list-certificates flag, when that is all there is.
	InUse  *bool  `json:"in_use,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Status string `json:"status,omitempty"`
	Type   string `json:"type,omitempty"`
	// KeyVaultSecretID is where an Application Gateway takes it from.
	KeyVaultSecretID string `json:"key_vault_secret_id,omitempty"`
}

// InvListener is a TLS listener of a load balancer or gateway.
type InvListener struct {
	Kind     string `json:"kind"` // "listener"
	ID       string `json:"id"`
	LB       string `json:"load_balancer"`
	LBName   string `json:"load_balancer_name"`
	DNSName  string `json:"dns_name,omitempty"`
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	// Default is the certificate served when no SNI entry matches;
	// Extra the other certificates of the listener's list (SNI).
	Default   string   `json:"default_certificate,omitempty"`
	Extra     []string `json:"certificates,omitempty"`
	HostNames []string `json:"host_names,omitempty"`
	// Addresses are where to probe it (DNS name or host names, port).
	Addresses []string `json:"addresses,omitempty"`
}

// Inventory is everything read from the saved CLI outputs.
type Inventory struct {
	Certs     []*InvCert     `json:"certificates"`
	Listeners []*InvListener `json:"listeners"`
	// Problems are inputs (or parts of them) that could not be used.
	Problems []string `json:"problems,omitempty"`

	certByID map[string]*InvCert
	lbs      map[string]awsLB
	pending  []pendingListenerCerts
}

type awsLB struct{ name, dns, typ string }

type pendingListenerCerts struct {
	file, listener string
	certs          []awsListenerCert
}

// NewInventory returns an empty inventory to Add files to.
func NewInventory() *Inventory {
	return &Inventory{certByID: map[string]*InvCert{}, lbs: map[string]awsLB{}}
}

// flexTime reads an RFC 3339 string or epoch seconds.
type flexTime struct{ time.Time }

func (t *flexTime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		for _, l := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999-07:00", "2006-01-02T15:04:05"} {
			if v, err := time.Parse(l, s); err == nil {
				t.Time = v.UTC()
				return nil
			}
		}
		return fmt.Errorf("time %q is neither RFC 3339 nor epoch seconds", s)
	}
	var f float64
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("time %s is neither RFC 3339 nor epoch seconds", b)
	}
	sec := int64(f)
	t.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	return nil
}

type acmDetail struct {
	CertificateArn          string
	DomainName              string
	SubjectAlternativeNames []string
	// list-certificates (a summary)
	SubjectAlternativeNameSummaries []string
	NotBefore, NotAfter             *flexTime
	InUseBy                         []string
	InUse                           *bool
	Status, Type                    string
}

type awsListenerCert struct {
	CertificateArn string
	IsDefault      *bool
}

// awsDoc is any of the AWS outputs kensa reads; which keys are present
// says which command printed it.
type awsDoc struct {
	Certificate            *acmDetail
	CertificateSummaryList []acmDetail
	LoadBalancers          []struct {
		LoadBalancerArn, LoadBalancerName, DNSName, Type string
	}
	Listeners []struct {
		ListenerArn, LoadBalancerArn, Protocol string
		Port                                   int
		Certificates                           []awsListenerCert
	}
	Certificates []awsListenerCert
	ListenerArn  string
}

// decodeAll reads every JSON document of data (a file may hold several
// outputs one after the other), each into a fresh v.
func decodeAll[T any](data []byte, each func(T) error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	n := 0
	for {
		var v T
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return errors.New("no JSON document")
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("document %d: %w", n+1, err)
		}
		n++
		if err := each(v); err != nil {
			return fmt.Errorf("document %d: %w", n, err)
		}
	}
}

// AddAWS reads one saved AWS CLI output (acm describe-certificate or
// list-certificates, elbv2 describe-load-balancers, describe-listeners or
// describe-listener-certificates; several may be concatenated, or given
// as a JSON array of describe-certificate outputs). name is the file's
// name, for messages and to find a listener id in it.
func (inv *Inventory) AddAWS(name string, data []byte) error {
	if len(data) > MaxInventoryFile {
		return fmt.Errorf("%s: larger than %d bytes", name, MaxInventoryFile)
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		var docs []awsDoc
		if err := json.Unmarshal(t, &docs); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for i, d := range docs {
			if err := inv.addAWSDoc(name, d); err != nil {
				return fmt.Errorf("%s: item %d: %w", name, i+1, err)
			}
		}
		return nil
	}
	err := decodeAll(data, func(d awsDoc) error { return inv.addAWSDoc(name, d) })
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (inv *Inventory) full() error {
	if len(inv.Certs)+len(inv.Listeners)+len(inv.lbs) > MaxInventoryItems {
		return fmt.Errorf("more than %d certificates, load balancers and listeners", MaxInventoryItems)
	}
	return nil
}

func (inv *Inventory) addAWSDoc(name string, d awsDoc) error {
	known := false
	addCert := func(a acmDetail) error {
		if a.CertificateArn == "" {
			return errors.New("a certificate without CertificateArn")
		}
		if err := inv.full(); err != nil {
			return err
		}
		c := inv.cert(a.CertificateArn, "aws")
		names := append([]string{a.DomainName}, a.SubjectAlternativeNames...)
		names = append(names, a.SubjectAlternativeNameSummaries...)
		for _, n := range names {
			if n != "" && !slices.Contains(c.Names, strings.ToLower(n)) {
				c.Names = append(c.Names, strings.ToLower(n))
			}
		}
		if a.NotBefore != nil && !a.NotBefore.IsZero() {
			c.NotBefore = a.NotBefore.Time
		}
		if a.NotAfter != nil && !a.NotAfter.IsZero() {
			c.NotAfter = a.NotAfter.Time
		}
		for _, u := range a.InUseBy {
			if !slices.Contains(c.InUseBy, u) {
				c.InUseBy = append(c.InUseBy, u)
			}
		}
		if a.InUse != nil {
			c.InUse = a.InUse
		}
		c.Status = cmp.Or(a.Status, c.Status)
		c.Type = cmp.Or(a.Type, c.Type)
		return nil
	}
	if d.Certificate != nil {
		known = true
		if err := addCert(*d.Certificate); err != nil {
			return err
		}
	}
	if d.CertificateSummaryList != nil {
		known = true
		for _, a := range d.CertificateSummaryList {
			if err := addCert(a); err != nil {
				return err
			}
		}
	}
	if d.LoadBalancers != nil {
		known = true
		for _, lb := range d.LoadBalancers {
			if lb.LoadBalancerArn == "" {
				return errors.New("a load balancer without LoadBalancerArn")
			}
			if err := inv.full(); err != nil {
				return err
			}
			inv.lbs[lb.LoadBalancerArn] = awsLB{name: lb.LoadBalancerName, dns: lb.DNSName, typ: lb.Type}
		}
	}
	if d.Listeners != nil {
		known = true
		for _, l := range d.Listeners {
			if l.ListenerArn == "" {
				return errors.New("a listener without ListenerArn")
			}
			if l.Protocol != "HTTPS" && l.Protocol != "TLS" {
				continue // no certificate: nothing to watch
			}
			if err := inv.full(); err != nil {
				return err
			}
			li := inv.listener(l.ListenerArn)
			li.LB, li.Port, li.Protocol = l.LoadBalancerArn, l.Port, l.Protocol
			// describe-listeners shows the default certificate only.
			if len(l.Certificates) > 0 && l.Certificates[0].CertificateArn != "" {
				li.Default = l.Certificates[0].CertificateArn
				inv.cert(li.Default, "aws")
			}
		}
	}
	if d.Certificates != nil && d.Certificate == nil {
		known = true
		if err := inv.full(); err != nil {
			return err
		}
		inv.pending = append(inv.pending, pendingListenerCerts{file: name, listener: d.ListenerArn, certs: d.Certificates})
	}
	if !known {
		return errors.New("not an output kensa reads (expected aws acm describe-certificate or list-certificates, or aws elbv2 describe-load-balancers, describe-listeners or describe-listener-certificates)")
	}
	return nil
}

func (inv *Inventory) cert(id, cloud string) *InvCert {
	key := strings.ToLower(id)
	if c, ok := inv.certByID[key]; ok {
		return c
	}
	c := &InvCert{Kind: "certificate", ID: id, Cloud: cloud}
	inv.certByID[key] = c
	inv.Certs = append(inv.Certs, c)
	return c
}

func (inv *Inventory) listener(id string) *InvListener {
	for _, l := range inv.Listeners {
		if strings.EqualFold(l.ID, id) {
			return l
		}
	}
	l := &InvListener{Kind: "listener", ID: id}
	inv.Listeners = append(inv.Listeners, l)
	return l
}

// azRef is an Azure sub-resource reference.
type azRef struct {
	ID string `json:"id"`
}

type azSSLCert struct {
	Name             string `json:"name"`
	ID               string `json:"id"`
	PublicCertData   string `json:"publicCertData"`
	KeyVaultSecretID string `json:"keyVaultSecretId"`
	Properties       *struct {
		PublicCertData   string `json:"publicCertData"`
		KeyVaultSecretID string `json:"keyVaultSecretId"`
	} `json:"properties"`
}

type azListener struct {
	Name                    string   `json:"name"`
	ID                      string   `json:"id"`
	Protocol                string   `json:"protocol"`
	HostName                string   `json:"hostName"`
	HostNames               []string `json:"hostNames"`
	FrontendPort            *azRef   `json:"frontendPort"`
	FrontendIPConfiguration *azRef   `json:"frontendIPConfiguration"`
	SSLCertificate          *azRef   `json:"sslCertificate"`
}

type azGatewayProps struct {
	SSLCertificates []azSSLCert `json:"sslCertificates"`
	HTTPListeners   []struct {
		azListener
		Properties *azListener `json:"properties"`
	} `json:"httpListeners"`
	FrontendPorts []struct {
		ID         string `json:"id"`
		Port       int    `json:"port"`
		Properties *struct {
			Port int `json:"port"`
		} `json:"properties"`
	} `json:"frontendPorts"`
	FrontendIPConfigurations []struct {
		ID               string `json:"id"`
		PrivateIPAddress string `json:"privateIPAddress"`
		Properties       *struct {
			PrivateIPAddress string `json:"privateIPAddress"`
		} `json:"properties"`
	} `json:"frontendIPConfigurations"`
}

type azGateway struct {
	Name string `json:"name"`
	ID   string `json:"id"`
	azGatewayProps
	Properties *azGatewayProps `json:"properties"`
}

// AddAzure reads one saved az output: application-gateway show (one
// gateway, or a list of them) or application-gateway ssl-cert list.
func (inv *Inventory) AddAzure(name string, data []byte) error {
	if len(data) > MaxInventoryFile {
		return fmt.Errorf("%s: larger than %d bytes", name, MaxInventoryFile)
	}
	t := bytes.TrimSpace(data)
	var items []json.RawMessage
	if len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &items); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	} else {
		items = []json.RawMessage{t}
	}
	for i, raw := range items {
		if err := inv.addAzureItem(raw); err != nil {
			return fmt.Errorf("%s: item %d: %w", name, i+1, err)
		}
	}
	return nil
}

func (inv *Inventory) addAzureItem(raw json.RawMessage) error {
	var g azGateway
	if err := json.Unmarshal(raw, &g); err != nil {
		return err
	}
	if g.Properties != nil {
		g.azGatewayProps = *g.Properties
	}
	if strings.Contains(strings.ToLower(g.ID), "/sslcertificates/") {
		// An ssl-cert list item.
		var c azSSLCert
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		return inv.addAzureCert(c)
	}
	if g.ID == "" || !strings.Contains(strings.ToLower(g.ID), "/applicationgateways/") {
		return errors.New("not an output kensa reads (expected az network application-gateway show or application-gateway ssl-cert list)")
	}
	for _, c := range g.SSLCertificates {
		if err := inv.addAzureCert(c); err != nil {
			return err
		}
	}
	ports := map[string]int{}
	for _, p := range g.FrontendPorts {
		port := p.Port
		if p.Properties != nil {
			port = p.Properties.Port
		}
		ports[strings.ToLower(p.ID)] = port
	}
	ips := map[string]string{}
	for _, f := range g.FrontendIPConfigurations {
		ip := f.PrivateIPAddress
		if f.Properties != nil {
			ip = cmp.Or(f.Properties.PrivateIPAddress, ip)
		}
		ips[strings.ToLower(f.ID)] = ip
	}
	for _, hl := range g.HTTPListeners {
		l, lid := hl.azListener, hl.azListener.ID
		if hl.Properties != nil {
			name := cmp.Or(l.Name, hl.Properties.Name)
			lid = cmp.Or(lid, hl.Properties.ID)
			l = *hl.Properties
			l.Name = name
		}
		if !strings.EqualFold(l.Protocol, "https") {
			continue
		}
		if err := inv.full(); err != nil {
			return err
		}
		li := inv.listener(cmp.Or(lid, g.ID+"/httpListeners/"+l.Name))
		li.LB, li.LBName, li.Protocol = g.ID, g.Name, "HTTPS"
		if l.FrontendPort != nil {
			li.Port = ports[strings.ToLower(l.FrontendPort.ID)]
		}
		if li.Port == 0 {
			li.Port = 443
		}
		for _, h := range append([]string{l.HostName}, l.HostNames...) {
			if h != "" && !slices.Contains(li.HostNames, strings.ToLower(h)) {
				li.HostNames = append(li.HostNames, strings.ToLower(h))
			}
		}
		if l.SSLCertificate != nil && l.SSLCertificate.ID != "" {
			li.Default = l.SSLCertificate.ID
			inv.cert(li.Default, "azure")
		}
		port := strconv.Itoa(li.Port)
		for _, h := range li.HostNames {
			if !strings.Contains(h, "*") {
				li.Addresses = append(li.Addresses, net.JoinHostPort(h, port))
			}
		}
		if l.FrontendIPConfiguration != nil {
			if ip := ips[strings.ToLower(l.FrontendIPConfiguration.ID)]; ip != "" {
				li.Addresses = append(li.Addresses, net.JoinHostPort(ip, port))
			}
		}
	}
	return nil
}

func (inv *Inventory) addAzureCert(a azSSLCert) error {
	if a.ID == "" {
		return errors.New("an SSL certificate without id")
	}
	if err := inv.full(); err != nil {
		return err
	}
	data, kv := a.PublicCertData, a.KeyVaultSecretID
	if a.Properties != nil {
		data, kv = cmp.Or(a.Properties.PublicCertData, data), cmp.Or(a.Properties.KeyVaultSecretID, kv)
	}
	c := inv.cert(a.ID, "azure")
	c.KeyVaultSecretID = kv
	if data == "" {
		return nil
	}
	certs, err := publicCertData(data)
	if err != nil {
		inv.Problems = append(inv.Problems, fmt.Sprintf("%s: publicCertData: %v", a.ID, err))
		return nil
	}
	li := slices.IndexFunc(certs, func(c *x509.Certificate) bool { return !c.IsCA })
	if li < 0 {
		li = 0
	}
	leaf := certs[li]
	c.Names = nil
	for _, n := range SANs(leaf) {
		c.Names = append(c.Names, strings.ToLower(n))
	}
	if len(c.Names) == 0 && leaf.Subject.CommonName != "" {
		c.Names = []string{strings.ToLower(leaf.Subject.CommonName)}
	}
	c.NotBefore, c.NotAfter, c.SHA256 = leaf.NotBefore.UTC(), leaf.NotAfter.UTC(), Fingerprint(leaf)
	return nil
}

// publicCertData decodes an Application Gateway's publicCertData: base64
// of DER certificates or of a PKCS#7 SignedData that carries them.
func publicCertData(s string) ([]*x509.Certificate, error) {
	if len(s) > MaxFileSize*2 {
		return nil, errors.New("too large")
	}
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("not base64: %w", err)
	}
	if certs, err := x509.ParseCertificates(der); err == nil && len(certs) > 0 {
		return certs, nil
	}
	certs, err := pkcs7Certificates(der)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificate in it")
	}
	return certs, nil
}

var oidSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

// pkcs7Certificates returns the certificates field of a PKCS#7 / CMS
// SignedData (RFC 5652 §5.1); nothing else of it is read.
func pkcs7Certificates(der []byte) ([]*x509.Certificate, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, fmt.Errorf("neither DER certificates nor PKCS#7: %w", err)
	}
	if !ci.Type.Equal(oidSignedData) {
		return nil, fmt.Errorf("PKCS#7 content type %v is not SignedData", ci.Type)
	}
	var sd struct {
		Version          int
		DigestAlgorithms asn1.RawValue
		ContentInfo      asn1.RawValue
		Certificates     asn1.RawValue `asn1:"optional,tag:0"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, fmt.Errorf("PKCS#7 SignedData: %w", err)
	}
	if len(sd.Certificates.Bytes) == 0 {
		return nil, nil
	}
	certs, err := x509.ParseCertificates(sd.Certificates.Bytes)
	if err != nil {
		return nil, fmt.Errorf("PKCS#7 certificates: %w", err)
	}
	if len(certs) > MaxCertificates {
		return nil, fmt.Errorf("more than %d certificates", MaxCertificates)
	}
	return certs, nil
}

// Resolve joins what the files said: load balancer names and DNS names
// onto listeners, listener certificate lists onto their listeners. Call
// it once, after every Add.
func (inv *Inventory) Resolve() {
	for _, l := range inv.Listeners {
		if lb, ok := inv.lbs[l.LB]; ok {
			l.LBName, l.DNSName = lb.name, lb.dns
		}
		if l.LBName == "" {
			l.LBName = arnName(l.LB)
		}
		if l.DNSName != "" && len(l.Addresses) == 0 {
			l.Addresses = []string{net.JoinHostPort(l.DNSName, strconv.Itoa(l.Port))}
		}
	}
	for _, p := range inv.pending {
		l := inv.pendingListener(p)
		if l == nil {
			inv.Problems = append(inv.Problems, fmt.Sprintf("%s: cannot tell which listener these certificates belong to: add its ARN as \"ListenerArn\" (jq --arg l ARN '. + {ListenerArn: $l}'), or put the listener id in the file's name", p.file))
			continue
		}
		for _, c := range p.certs {
			if c.CertificateArn == "" {
				continue
			}
			inv.cert(c.CertificateArn, "aws")
			switch {
			case c.IsDefault != nil && *c.IsDefault:
				l.Default = c.CertificateArn
			case !slices.Contains(l.Extra, c.CertificateArn):
				l.Extra = append(l.Extra, c.CertificateArn)
			}
		}
	}
	inv.pending = nil
	slices.SortFunc(inv.Listeners, func(a, b *InvListener) int { return strings.Compare(a.ID, b.ID) })
}

// pendingListener finds the listener of a describe-listener-certificates
// output.
func (inv *Inventory) pendingListener(p pendingListenerCerts) *InvListener {
	if p.listener != "" {
		return inv.listener(p.listener)
	}
	base := filepath.Base(p.file)
	for _, l := range inv.Listeners {
		if id := arnName(l.ID); len(id) >= 8 && strings.Contains(base, id) {
			return l
		}
	}
	var def string
	for _, c := range p.certs {
		if c.IsDefault != nil && *c.IsDefault {
			def = c.CertificateArn
		}
	}
	var found *InvListener
	for _, l := range inv.Listeners {
		if def != "" && l.Default == def {
			if found != nil {
				return nil // ambiguous
			}
			found = l
		}
	}
	return found
}

// arnName returns the last path element of an ARN or resource id.
func arnName(s string) string {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// Targets returns a targets file with one endpoint per TLS listener: its
// addresses, and the names of the certificates it serves (wildcards
// cannot be asked for and are left out). A listener whose every
// certificate is one kensa has the fingerprint of expects it.
func (inv *Inventory) Targets() *Targets {
	t := &Targets{}
	for _, l := range inv.Listeners {
		if len(l.Addresses) == 0 {
			continue
		}
		name := fmt.Sprintf("%s:%d", l.LBName, l.Port)
		if strings.Contains(strings.ToLower(l.ID), "/httplisteners/") {
			// An Application Gateway has one listener per host name on a
			// port: name it by the listener.
			name = l.LBName + "/" + arnName(l.ID)
		}
		e := Endpoint{Name: name, Addresses: slices.Clone(l.Addresses)}
		names := slices.Clone(l.HostNames)
		for _, id := range append([]string{l.Default}, l.Extra...) {
			if c := inv.certByID[strings.ToLower(id)]; c != nil {
				for _, n := range c.Names {
					if !strings.HasPrefix(n, "*") && !slices.Contains(names, n) && len(l.HostNames) == 0 {
						names = append(names, n)
					}
				}
			}
		}
		slices.Sort(names)
		e.ServerNames = names
		e.NoSNI = true
		if c := inv.certByID[strings.ToLower(l.Default)]; c != nil && c.SHA256 != "" && len(l.Extra) == 0 {
			e.Expect = []string{c.SHA256}
		}
		t.Endpoints = append(t.Endpoints, e)
	}
	return t
}

// InventoryOptions are the inputs of [InventoryFindings].
type InventoryOptions struct {
	At time.Time
	// Remaining is when a certificate counts as expiring (default: a
	// third of its lifetime, as for cert check).
	Remaining Threshold
	// Targets is the user's own targets file, if given: load balancers
	// missing from it are findings.
	Targets *Targets
}

// attached reports the listeners that hold certificate id.
func (inv *Inventory) attached(id string) []*InvListener {
	var out []*InvListener
	for _, l := range inv.Listeners {
		if strings.EqualFold(l.Default, id) || slices.ContainsFunc(l.Extra, func(x string) bool { return strings.EqualFold(x, id) }) {
			out = append(out, l)
		}
	}
	return out
}

// inUse reports whether the cloud says anything uses c.
func (inv *Inventory) inUse(c *InvCert) bool {
	return len(c.InUseBy) > 0 || (c.InUse != nil && *c.InUse) || len(inv.attached(c.ID)) > 0
}

// covers reports whether names of a cover every name of b.
func coversAll(a, b []string) bool {
	if len(b) == 0 {
		return false
	}
	for _, n := range b {
		if !slices.Contains(a, n) {
			return false
		}
	}
	return true
}

// InventoryFindings decides the inventory's findings.
func (inv *Inventory) InventoryFindings(o InventoryOptions) []report.Finding {
	var fs []report.Finding
	// 1. A load balancer that uses a certificate but is not probed.
	if o.Targets != nil {
		var have []string
		for _, e := range o.Targets.Endpoints {
			for _, a := range e.Addresses {
				if h, p, err := SplitAddress(a); err == nil {
					have = append(have, strings.ToLower(net.JoinHostPort(strings.TrimSuffix(h, "."), p)))
				}
			}
		}
		for _, l := range inv.Listeners {
			if len(l.Addresses) == 0 || l.Default == "" {
				continue
			}
			if slices.ContainsFunc(l.Addresses, func(a string) bool {
				h, p, _ := SplitAddress(a)
				return slices.Contains(have, strings.ToLower(net.JoinHostPort(strings.TrimSuffix(h, "."), p)))
			}) {
				continue
			}
			fs = append(fs, report.Finding{ID: "inventory-lb-not-in-targets", Severity: report.Error, Subject: l.LBName,
				Message: fmt.Sprintf("%s (%s, port %d) uses %s but none of its addresses (%s) is in your targets",
					l.LBName, l.Protocol, l.Port, inv.certLabel(l.Default), strings.Join(l.Addresses, ", ")),
				Remediation: "add it to the targets you probe and watch (the targets file kensa wrote has it), then check it serves the new certificate",
				Citation:    citeInventory})
		}
	}
	for _, l := range inv.Listeners {
		def := inv.certByID[strings.ToLower(l.Default)]
		// 2. An old certificate left in the listener's list.
		for _, x := range l.Extra {
			c := inv.certByID[strings.ToLower(x)]
			if c == nil || def == nil || strings.EqualFold(c.ID, def.ID) {
				continue
			}
			if coversAll(def.Names, c.Names) && !c.NotAfter.IsZero() && !def.NotAfter.IsZero() && c.NotAfter.Before(def.NotAfter) {
				fs = append(fs, report.Finding{ID: "inventory-old-cert-attached", Severity: report.Warning, Subject: l.LBName,
					Message: fmt.Sprintf("%s port %d still lists %s (not after %s) beside its default %s (not after %s), which covers the same names",
						l.LBName, l.Port, inv.certLabel(c.ID), c.NotAfter.Format(time.DateOnly), inv.certLabel(def.ID), def.NotAfter.Format(time.DateOnly)),
					Remediation: fmt.Sprintf("once every address serves the new certificate, remove the old one: aws elbv2 remove-listener-certificates --listener-arn %s --certificates CertificateArn=%s", l.ID, c.ID),
					Citation:    citeInventory})
			}
		}
	}
	// Azure: a gateway certificate no listener references, replaced by one
	// that covers the same names and lives longer.
	replaced := map[*InvCert]bool{}
	for _, c := range inv.Certs {
		if c.Cloud != "azure" || len(inv.attached(c.ID)) > 0 || c.NotAfter.IsZero() {
			continue
		}
		gw := gatewayOf(c.ID)
		for _, d := range inv.Certs {
			if d == c || d.Cloud != "azure" || gatewayOf(d.ID) != gw || len(inv.attached(d.ID)) == 0 {
				continue
			}
			if coversAll(d.Names, c.Names) && c.NotAfter.Before(d.NotAfter) {
				fs = append(fs, report.Finding{ID: "inventory-old-cert-attached", Severity: report.Warning, Subject: arnName(gw),
					Message: fmt.Sprintf("gateway %s still holds %s (not after %s), replaced on its listeners by %s (not after %s)",
						arnName(gw), inv.certLabel(c.ID), c.NotAfter.Format(time.DateOnly), inv.certLabel(d.ID), d.NotAfter.Format(time.DateOnly)),
					Remediation: fmt.Sprintf("remove it: az network application-gateway ssl-cert delete --gateway-name %s --name %s --resource-group RG", arnName(gw), arnName(c.ID)),
					Citation:    citeInventory})
				replaced[c] = true
				break
			}
		}
	}
	// 3. In use, expiring, and no renewal attached anywhere.
	for _, c := range inv.Certs {
		if !inv.inUse(c) || c.NotAfter.IsZero() || !expiring(c, o) {
			continue
		}
		renewed := slices.ContainsFunc(inv.Certs, func(d *InvCert) bool {
			return d != c && coversAll(d.Names, c.Names) && d.NotAfter.After(c.NotAfter) && len(inv.attached(d.ID))+len(d.InUseBy) > 0
		})
		if renewed {
			continue
		}
		users := c.InUseBy
		for _, l := range inv.attached(c.ID) {
			if !slices.Contains(users, l.LB) {
				users = append(users, l.LB)
			}
		}
		fs = append(fs, report.Finding{ID: "inventory-expiring-not-renewed", Severity: report.Error, Subject: inv.certLabel(c.ID),
			Message: fmt.Sprintf("%s expires %s (%s) and is used by %s; no certificate for its names that expires later is attached anywhere",
				inv.certLabel(c.ID), c.NotAfter.Format(time.DateOnly), days(int(c.NotAfter.Sub(o.At).Hours()/24)), usersOrFlag(users)),
			Remediation: "attach the renewal to every listener and gateway that uses this certificate (ACM managed renewal may be stuck: check its RenewalSummary), then probe them",
			Citation:    citeInventory})
	}
	for _, c := range inv.Certs {
		if inv.inUse(c) || replaced[c] || (c.InUse == nil && c.InUseBy == nil && c.Cloud == "aws") {
			continue
		}
		fs = append(fs, report.Finding{ID: "inventory-unused-certificate", Severity: report.Info, Subject: inv.certLabel(c.ID),
			Message:     fmt.Sprintf("%s is attached to nothing the inputs show", inv.certLabel(c.ID)),
			Remediation: "delete it when it is not the renewal waiting to be attached",
			Citation:    citeInventory})
	}
	return fs
}

func usersOrFlag(u []string) string {
	if len(u) == 0 {
		return "something (ACM says it is in use)"
	}
	return strings.Join(u, ", ")
}

// expiring applies the threshold to an inventory certificate.
func expiring(c *InvCert, o InventoryOptions) bool {
	left := c.NotAfter.Sub(o.At)
	if o.Remaining.Never {
		return left <= 0
	}
	if o.Remaining.Duration > 0 {
		return left < o.Remaining.Duration
	}
	frac := o.Remaining.Fraction
	if frac == 0 {
		frac = 1.0 / 3
	}
	if c.NotBefore.IsZero() {
		return left < 30*24*time.Hour
	}
	return left.Seconds() < frac*c.NotAfter.Sub(c.NotBefore).Seconds()
}

func gatewayOf(id string) string {
	l := strings.ToLower(id)
	if i := strings.Index(l, "/sslcertificates/"); i >= 0 {
		return l[:i]
	}
	return l
}

// certLabel names a certificate for people: its first name and the end
// of its id.
func (inv *Inventory) certLabel(id string) string {
	c := inv.certByID[strings.ToLower(id)]
	if c == nil || len(c.Names) == 0 {
		return arnName(id)
	}
	return fmt.Sprintf("%s (%s)", c.Names[0], arnName(id))
}

// Items returns the inventory as report results: every certificate, then
// every listener.
func (inv *Inventory) Items() []any {
	out := make([]any, 0, len(inv.Certs)+len(inv.Listeners))
	for _, c := range inv.Certs {
		out = append(out, c)
	}
	for _, l := range inv.Listeners {
		out = append(out, l)
	}
	return out
}

// InventorySummary is the "summary" of a cert inventory report.
type InventorySummary struct {
	Certificates int `json:"certificates"`
	Listeners    int `json:"listeners"`
	Endpoints    int `json:"endpoints"`
	// Problems are the inputs (or parts) that could not be used.
	Problems []string `json:"problems,omitempty"`
	report.SeverityCounts
}

// SummarizeInventory counts an inventory and its findings.
func SummarizeInventory(inv *Inventory, t *Targets, fs []report.Finding) InventorySummary {
	return InventorySummary{Certificates: len(inv.Certs), Listeners: len(inv.Listeners), Endpoints: len(t.Endpoints),
		Problems: inv.Problems, SeverityCounts: report.CountSeverities(fs)}
}

// Add adds o's counts to s.
func (s *InventorySummary) Add(o InventorySummary) {
	s.Certificates += o.Certificates
	s.Listeners += o.Listeners
	s.Endpoints += o.Endpoints
	s.Problems = append(s.Problems, o.Problems...)
	s.SeverityCounts.Add(o.SeverityCounts)
}
