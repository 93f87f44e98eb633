package cert

import (
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
// a misspelt "servername" does not silently probe nothing. Every error
// names the line it is about. A single address or server name may be
// written as a plain string instead of a list.
func ParseTargets(data []byte) (*Targets, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("targets file larger than %d bytes", MaxFileSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil, errors.New("the file is empty (expected a mapping with \"endpoints:\", a list of endpoints)")
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: expected a mapping with \"endpoints:\", a list of endpoints", root.Line)
	}
	var t Targets
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "endpoints" {
			return nil, fmt.Errorf("line %d: unknown key %q (expected \"endpoints:\")", k.Line, k.Value)
		}
		if v.Kind != yaml.SequenceNode {
			return nil, fmt.Errorf("line %d: \"endpoints\" must be a list (each item starting with \"- name:\")", v.Line)
		}
		list = v
	}
	if list == nil || len(list.Content) == 0 {
		return nil, errors.New("no endpoints (expected a list under \"endpoints:\")")
	}
	n := 0
	for i, item := range list.Content {
		e, err := parseEndpoint(item, i+1)
		if err != nil {
			return nil, err
		}
		n += len(e.Addresses) * max(1, len(e.ServerNames)+1)
		if n > MaxProbes {
			return nil, fmt.Errorf("line %d: more than %d handshakes", item.Line, MaxProbes)
		}
		t.Endpoints = append(t.Endpoints, e)
	}
	return &t, nil
}

// parseEndpoint reads the i-th endpoint of a targets file.
func parseEndpoint(item *yaml.Node, i int) (Endpoint, error) {
	var e Endpoint
	if item.Kind != yaml.MappingNode {
		return e, fmt.Errorf("line %d: endpoint %d must be a mapping (name:, addresses:, servernames:, no_sni:)", item.Line, i)
	}
	for j := 0; j+1 < len(item.Content); j += 2 {
		k, v := item.Content[j], item.Content[j+1]
		var err error
		switch k.Value {
		case "name":
			if v.Kind != yaml.ScalarNode {
				err = fmt.Errorf("line %d: \"name\" must be a string", v.Line)
			}
			e.Name = v.Value
		case "addresses":
			e.Addresses, err = stringList(k.Value, v)
			items := v.Content
			if v.Kind == yaml.ScalarNode {
				items = []*yaml.Node{v}
			}
			for _, a := range items {
				if _, _, aerr := dialAddress(a.Value); err == nil && aerr != nil {
					err = fmt.Errorf("line %d: endpoint %d (%s): %w", a.Line, i, e.Name, aerr)
				}
			}
		case "servernames":
			e.ServerNames, err = stringList(k.Value, v)
			if err == nil {
				err = asciiNames(e.ServerNames, v, i, e.Name)
			}
		case "no_sni":
			if v.Kind != yaml.ScalarNode || v.Decode(&e.NoSNI) != nil {
				err = fmt.Errorf("line %d: \"no_sni\" must be true or false", v.Line)
			}
		default:
			err = fmt.Errorf("line %d: unknown key %q (known: name, addresses, servernames, no_sni)", k.Line, k.Value)
		}
		if err != nil {
			return e, err
		}
	}
	if len(e.Addresses) == 0 {
		return e, fmt.Errorf("line %d: endpoint %d (%s): no addresses", item.Line, i, e.Name)
	}
	return e, nil
}

// asciiNames converts a targets file's server names to A-labels in place
// (see ASCIIName), naming the line of one that is not a valid name.
func asciiNames(names []string, v *yaml.Node, i int, endpoint string) error {
	items := v.Content
	if v.Kind == yaml.ScalarNode {
		items = []*yaml.Node{v}
	}
	for j, n := range names {
		a, err := SNIName(n)
		if err != nil {
			return fmt.Errorf("line %d: endpoint %d (%s): servername %w", items[j].Line, i, endpoint, err)
		}
		names[j] = a
	}
	return nil
}

// stringList reads a list of strings, or one string.
func stringList(key string, v *yaml.Node) ([]string, error) {
	switch v.Kind {
	case yaml.ScalarNode:
		if v.Value == "" {
			return nil, nil
		}
		return []string{v.Value}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, x := range v.Content {
			if x.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: each item of %q must be a string", x.Line, key)
			}
			out = append(out, x.Value)
		}
		return out, nil
	}
	return nil, fmt.Errorf("line %d: %q must be a list, like [a, b]", v.Line, key)
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
