package fips

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// modules.json is the module table: each crypto module kensa can name,
// with its FIPS 140 validation status over time and the sources of every
// row, plus which BoringCrypto module each Go release embeds.
//
//go:embed modules.json
var modulesJSON []byte

// ModuleRow is one row of the module table.
type ModuleRow struct {
	ID          string        `json:"id"`
	Backend     string        `json:"backend"`
	Name        string        `json:"name"`
	Version     string        `json:"version"`
	Standard    string        `json:"standard"`
	Certificate string        `json:"certificate"`
	Events      []StatusEvent `json:"events"`
	Sources     []string      `json:"sources"`
	AsOf        string        `json:"as_of"`
	// Provider is, for an OpenSSL 3 FIPS provider row, the name the
	// provider gives itself; Versions the provider versions the
	// certificate covers (exact, or a prefix ending in "*").
	Provider string   `json:"provider,omitempty"`
	Versions []string `json:"versions,omitempty"`
	// Distribution is, for a distribution's build of GnuTLS, NSS or
	// libgcrypt, the os-release ID ("rhel") and DistributionVersions the
	// VERSION_IDs it covers ("9.*"); Versions then lists the library
	// versions covered (see distro.go).
	Distribution         string   `json:"distribution,omitempty"`
	DistributionVersions []string `json:"distribution_versions,omitempty"`
}

// StatusEvent is a validation status that holds from a date on.
type StatusEvent struct {
	From   string `json:"from"`
	Status string `json:"status"`
	Note   string `json:"note"`
	// from is From parsed, once, when the table is loaded.
	from time.Time
}

type boringRule struct {
	From  string `json:"from"`
	Until string `json:"until"`
	Tag   string `json:"tag"`
}

type moduleTable struct {
	Modules []ModuleRow `json:"modules"`
	Boring  struct {
		Rules []boringRule `json:"rules"`
		AsOf  string       `json:"as_of"`
	} `json:"boringcrypto_releases"`
}

// table is modules.json, decoded when a command first asks (fips
// commands do; the others never pay its 1,900 allocations at start).
// A bad file panics at that first use; TestModuleStatusAt reads it.
var table = sync.OnceValue(mustLoadTable)

func mustLoadTable() *moduleTable {
	var t moduleTable
	if err := json.Unmarshal(modulesJSON, &t); err != nil {
		panic(fmt.Sprintf("fips: modules.json: %v", err))
	}
	for _, m := range t.Modules {
		for i := range m.Events {
			from, err := time.Parse(time.DateOnly, m.Events[i].From)
			if err != nil {
				panic(fmt.Sprintf("fips: modules.json %s: %v", m.ID, err))
			}
			m.Events[i].from = from
		}
	}
	return &t
}

// Modules returns the module table (for documentation and tests).
func Modules() []ModuleRow { return table().Modules }

// Module statuses.
const (
	StatusActive       = "active"
	StatusHistorical   = "historical"
	StatusInProcess    = "in-process"
	StatusNotValidated = "not-validated" // no validation of this code exists (yet)
	StatusUnknown      = "unknown"       // kensa cannot tie the build to a certificate
)

// statusAt returns the row's status event in force at t (nil before the
// first event).
func (m *ModuleRow) statusAt(t time.Time) *StatusEvent {
	var cur *StatusEvent
	for i := range m.Events {
		if !t.Before(m.Events[i].from) {
			cur = &m.Events[i]
		}
	}
	return cur
}

// lookupModule finds the row of backend whose version is v or a prefix of
// it up to a '-' ("v1.0.0-c2097c7c" matches "v1.0.0").
func lookupModule(backend, v string) *ModuleRow {
	for i := range table().Modules {
		m := &table().Modules[i]
		if m.Backend != backend {
			continue
		}
		if m.Version == v || strings.HasPrefix(v, m.Version+"-") {
			return m
		}
	}
	return nil
}

// lookupProvider finds the row of an OpenSSL 3 FIPS provider by the name
// it gives itself and its version.
func lookupProvider(name, version string) *ModuleRow {
	return lookupVersions("", name, version)
}

// lookupVersions finds the row of backend (or, when backend is "", of
// the provider named provider) whose Versions cover version.
func lookupVersions(backend, provider, version string) *ModuleRow {
	if version == "" {
		return nil
	}
	for i := range table().Modules {
		m := &table().Modules[i]
		if backend != "" && m.Backend != backend || backend == "" && (m.Provider == "" || m.Provider != provider) {
			continue
		}
		for _, v := range m.Versions {
			if p, ok := strings.CutSuffix(v, "*"); ok && strings.HasPrefix(version, p) || v == version {
				return m
			}
		}
	}
	return nil
}

// providerVersions lists the versions of the upstream provider rows, for
// reasons ("3.0.0, 3.0.8, 3.0.9, 3.1.2").
func providerVersions(name string) []string {
	var out []string
	for _, m := range table().Modules {
		if m.Provider == name {
			out = append(out, m.Versions...)
		}
	}
	return out
}

// boringTagFor returns the BoringSSL FIPS tag that the upstream Go
// release embeds, or "" when release cannot be placed.
func boringTagFor(release string) string {
	rv, ok := parseGoRelease(release)
	if !ok {
		return ""
	}
	for _, r := range table().Boring.Rules {
		from, ok1 := parseGoRelease(r.From)
		if !ok1 || compareRelease(rv, from) < 0 {
			continue
		}
		if r.Until != "" {
			until, ok2 := parseGoRelease(r.Until)
			if !ok2 || compareRelease(rv, until) >= 0 {
				continue
			}
		}
		return r.Tag
	}
	return ""
}

// goRelease is a parsed Go release: go1.22rc1 is {1,22,0,-1,1}, go1.22.3
// {1,22,3,0,0}. pre is -2 for beta, -1 for rc, 0 for a release.
type goRelease struct{ major, minor, patch, pre, preN int }

func parseGoRelease(s string) (goRelease, bool) {
	var r goRelease
	s, ok := strings.CutPrefix(s, "go")
	if !ok {
		return r, false
	}
	for _, p := range []struct {
		sep string
		val int
	}{{"rc", -1}, {"beta", -2}} {
		if a, b, ok := strings.Cut(s, p.sep); ok {
			n, err := strconv.Atoi(b)
			if err != nil {
				return r, false
			}
			r.pre, r.preN, s = p.val, n, a
		}
	}
	parts := strings.Split(s, ".")
	if len(parts) < 1 || len(parts) > 3 {
		return r, false
	}
	nums := []*int{&r.major, &r.minor, &r.patch}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			return r, false
		}
		*nums[i] = n
	}
	return r, true
}

func compareRelease(a, b goRelease) int {
	for _, d := range [][2]int{{a.major, b.major}, {a.minor, b.minor}, {a.patch, b.patch}, {a.pre, b.pre}, {a.preN, b.preN}} {
		if d[0] != d[1] {
			if d[0] < d[1] {
				return -1
			}
			return 1
		}
	}
	return 0
}
