package host

import (
	"path"
	"slices"
	"strings"

	"github.com/kensa-project/kensa/internal/rootfs"
)

// osslConf is an OpenSSL configuration file (config(5)) with its
// .include files, as far as the FIPS decision needs it: sections of
// name = value pairs. Variable expansion ($var) is not done; kensa only
// reads the provider and algorithm sections, which do not use it in any
// distribution's file.
type osslConf struct {
	// Files lists every file read, the main one first.
	Files    []string
	Sections map[string]map[string]string
	// Missing lists .include targets that do not exist.
	Missing []string
}

const (
	maxConfIncludes = 32
	maxConfDepth    = 8
)

// loadOSSLConf reads the configuration name inside fsys.
func loadOSSLConf(fsys rootfs.FS, name string) (*osslConf, error) {
	c := &osslConf{Sections: map[string]map[string]string{}}
	data, err := readFS(fsys, name, maxSmallFile)
	if err != nil {
		return nil, err
	}
	c.Files = append(c.Files, name)
	c.parse(fsys, name, data, "default", 0)
	return c, nil
}

// parseOSSLConf parses one configuration text without includes (for
// fuzzing and for files read elsewhere).
func parseOSSLConf(data []byte) *osslConf {
	c := &osslConf{Sections: map[string]map[string]string{}}
	c.parse(nil, "", data, "default", 0)
	return c
}

func (c *osslConf) set(sect, k, v string) {
	m := c.Sections[sect]
	if m == nil {
		m = map[string]string{}
		c.Sections[sect] = m
	}
	m[k] = v
}

// parse reads data (the file name) into c starting in section sect and
// returns the section it ends in: an included file's sections continue
// in the including file, as OpenSSL's NCONF does.
func (c *osslConf) parse(fsys rootfs.FS, name string, data []byte, sect string, depth int) string {
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		// Continuation lines end in a backslash.
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = strings.TrimSuffix(line, `\`) + lines[i]
		}
		if j := strings.IndexByte(line, '#'); j >= 0 {
			line = line[:j]
		}
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if line[0] == '[' {
			if j := strings.IndexByte(line, ']'); j > 0 {
				sect = strings.TrimSpace(line[1:j])
			}
			continue
		}
		if rest, ok := strings.CutPrefix(line, ".include"); ok {
			target := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), "="))
			target = strings.Trim(target, `"`)
			if fsys != nil && target != "" && depth < maxConfDepth {
				sect = c.include(fsys, name, target, sect, depth+1)
			}
			continue
		}
		if strings.HasPrefix(line, ".pragma") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		c.set(sect, strings.TrimSpace(k), strings.Trim(strings.TrimSpace(v), `"`))
	}
	return sect
}

func (c *osslConf) include(fsys rootfs.FS, from, target, sect string, depth int) string {
	if !path.IsAbs(target) {
		// OpenSSL resolves relative includes against OPENSSL_CONF_INCLUDE
		// or the working directory; the including file's directory is the
		// only sensible guess from outside.
		target = path.Join(path.Dir(from), target)
	}
	target = path.Clean(target)
	p, err := rootfs.Resolve(fsys, target)
	if err != nil {
		c.Missing = append(c.Missing, target)
		return sect
	}
	fi, err := fsys.Lstat(p)
	if err != nil {
		c.Missing = append(c.Missing, target)
		return sect
	}
	var files []string
	if fi.IsDir() {
		ents, err := fsys.ReadDir(p)
		if err != nil {
			return sect
		}
		for _, e := range ents {
			if n := e.Name(); strings.HasSuffix(n, ".cnf") || strings.HasSuffix(n, ".conf") {
				files = append(files, path.Join(target, n))
			}
		}
	} else {
		files = []string{target}
	}
	for _, f := range files {
		if len(c.Files) >= maxConfIncludes || slices.Contains(c.Files, f) {
			continue
		}
		data, err := readFS(fsys, f, maxSmallFile)
		if err != nil {
			c.Missing = append(c.Missing, f)
			continue
		}
		c.Files = append(c.Files, f)
		sect = c.parse(fsys, f, data, sect, depth)
	}
	return sect
}

func truthy(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "yes", "true", "on":
		return true
	}
	return false
}

// osslProviders is what a configuration does with providers.
type osslProviders struct {
	// Activated lists the providers with activate = 1, by name (the key
	// in the providers section, or its identity/module).
	Activated []string
	// FIPSSection is the section configuring the fips provider (where
	// fipsmodule.cnf's module-mac lives), "" when none.
	FIPSSection string
	// FIPSActive: a FIPS provider (fips or a SymCrypt provider) is
	// activated. DefaultFIPS: default_properties asks for fips=yes.
	FIPSActive  bool
	DefaultFIPS bool
}

func (c *osslConf) providers() osslProviders {
	var p osslProviders
	init := c.Sections["default"]["openssl_conf"]
	if init == "" {
		return p
	}
	initSect := c.Sections[init]
	if alg := initSect["alg_section"]; alg != "" {
		dp := strings.ReplaceAll(c.Sections[alg]["default_properties"], " ", "")
		p.DefaultFIPS = strings.Contains(dp, "fips=yes") && !strings.Contains(dp, "-fips")
	}
	provSect := initSect["providers"]
	if provSect == "" {
		return p
	}
	for _, name := range slices.Sorted(mapKeys(c.Sections[provSect])) {
		sect := c.Sections[provSect][name]
		s := c.Sections[sect]
		id := name
		if v := s["identity"]; v != "" {
			id = v
		}
		module := path.Base(s["module"])
		isFIPS := id == "fips" || module == "fips.so" || strings.Contains(strings.ToLower(id), "symcrypt") || module == "symcryptprovider.so"
		if isFIPS && p.FIPSSection == "" {
			p.FIPSSection = sect
		}
		if truthy(s["activate"]) {
			p.Activated = append(p.Activated, id)
			if isFIPS {
				p.FIPSActive = true
				p.FIPSSection = sect
			}
		}
	}
	return p
}

func mapKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
