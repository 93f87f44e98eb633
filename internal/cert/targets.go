package cert

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Endpoint is one service to probe: the addresses that serve it (load
// balancers, listeners, names that resolve to several IPs) and the names
// clients ask for.
type Endpoint struct {
	Name        string   `yaml:"name" json:"name"`
	Addresses   []string `yaml:"addresses" json:"addresses"`
	ServerNames []string `yaml:"servernames" json:"servernames"`
	// NoSNI adds a handshake without SNI to each address: what a client
	// that sends no server name gets (the listener's default certificate).
	NoSNI bool `yaml:"no_sni" json:"no_sni"`
}

// Targets is a targets file:
//
//	endpoints:
//	  - name: public
//	    addresses: [10.0.0.5:443, lb-2.example.com]
//	    servernames: [example.com, www.example.com]
//	    no_sni: true
type Targets struct {
	Endpoints []Endpoint `yaml:"endpoints"`
}

// MaxProbes bounds how many handshakes one run may expand to.
const MaxProbes = 100_000

// ParseTargets reads a targets file strictly: unknown keys are errors, so
// a misspelt "servername" does not silently probe nothing.
func ParseTargets(data []byte) (*Targets, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("targets file larger than %d bytes", MaxFileSize)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var t Targets
	if err := dec.Decode(&t); err != nil {
		return nil, err
	}
	if len(t.Endpoints) == 0 {
		return nil, errors.New("no endpoints (expected a list under \"endpoints:\")")
	}
	n := 0
	for i, e := range t.Endpoints {
		if len(e.Addresses) == 0 {
			return nil, fmt.Errorf("endpoint %d (%s): no addresses", i+1, e.Name)
		}
		for _, a := range e.Addresses {
			if _, _, err := SplitAddress(a); err != nil {
				return nil, fmt.Errorf("endpoint %d (%s): %w", i+1, e.Name, err)
			}
		}
		n += len(e.Addresses) * max(1, len(e.ServerNames)+1)
		if n > MaxProbes {
			return nil, fmt.Errorf("more than %d handshakes", MaxProbes)
		}
	}
	return &t, nil
}

// SplitAddress splits "host:port", "host" (port 443), "[v6]:port" and a
// bare IPv6 address.
func SplitAddress(a string) (host, port string, err error) {
	a = strings.TrimSpace(a)
	if a == "" {
		return "", "", errors.New("empty address")
	}
	if ip := net.ParseIP(a); ip != nil {
		return a, "443", nil
	}
	h, p, err := net.SplitHostPort(a)
	if err != nil {
		if strings.Contains(err.Error(), "missing port") {
			return strings.Trim(a, "[]"), "443", nil
		}
		return "", "", fmt.Errorf("address %q: %w", a, err)
	}
	if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("address %q: bad port", a)
	}
	if h == "" {
		return "", "", fmt.Errorf("address %q: no host", a)
	}
	return h, p, nil
}
