package host

import (
	"cmp"
	"maps"
	"path"
	"slices"
	"strconv"

	cdx "github.com/CycloneDX/cyclonedx-go"

	"github.com/kensa-project/kensa/internal/fips"
)

// CBOM returns the CycloneDX 1.6 CBOM of fips host results (one host's,
// or a merged report's nodes) with the crypto-asset model of fips scan
// (fips.CBOMOf, docs/cbom.md):
//
//   - each host is an "operating-system" component named after the host,
//     its os-release as description and each posture check as a
//     "kensa:posture:CHECK" property ("status: value");
//   - each process is an "application" component nested in its host
//     (bom-ref node:HOST:pid:PID), its executable as evidence, its pid,
//     verdict, backends, container, pod, kernel flag as it sees it,
//     environment switches and reasons as "kensa:" properties;
//   - the process depends on its crypto modules (cryptographic-asset
//     components with their CMVP status, as fips scan's) and on the crypto
//     libraries and providers its maps show loaded ("library" components
//     with their role). A process in a container has its files in the
//     container's filesystem: they are shared only by the processes of
//     that container.
//
// It decides nothing the results do not say.
func CBOM(results []Result, o fips.CBOMOptions) *cdx.BOM {
	hosts := map[string]*fips.CBOMGroup{}
	for _, r := range results {
		if r.Kind != KindPosture {
			continue
		}
		g := hostGroup(hosts, r.Host)
		if r.Check == CheckOSRelease {
			g.Description = r.Value
		}
		g.Properties = append(g.Properties, cdx.Property{Name: "kensa:posture:" + r.Check, Value: r.Status + cmpSuffix(r.Value)})
	}
	var users []fips.CBOMUser
	for _, r := range results {
		if r.Kind != KindProcess {
			continue
		}
		users = append(users, processUser(r, *hostGroup(hosts, r.Host)))
	}
	return fips.CBOMOf(users, o)
}

func hostGroup(hosts map[string]*fips.CBOMGroup, name string) *fips.CBOMGroup {
	name = cmp.Or(name, "(unnamed host)")
	g := hosts[name]
	if g == nil {
		g = &fips.CBOMGroup{Host: name, Properties: []cdx.Property{{Name: "kensa:host", Value: name}}}
		hosts[name] = g
	}
	return g
}

func cmpSuffix(v string) string {
	if v == "" {
		return ""
	}
	return ": " + v
}

// processUser is the CBOM user of one process result.
func processUser(r Result, g fips.CBOMGroup) fips.CBOMUser {
	pid := strconv.Itoa(r.PID)
	u := fips.CBOMUser{
		Ref:      "node:" + g.Host + ":pid:" + pid,
		Type:     cdx.ComponentTypeApplication,
		Name:     "[" + r.Comm + "]", // a process without an executable
		Location: r.Exe,
		Group:    g,
	}
	if r.Exe != "" {
		u.Name = path.Base(r.Exe)
	}
	if r.Language == "go" {
		u.Version = r.GoVersion
	}
	if r.ContainerID != "" {
		u.Scope = "container:" + r.ContainerID
	}
	prop := func(name, value string) {
		if value != "" {
			u.Properties = append(u.Properties, cdx.Property{Name: name, Value: value})
		}
	}
	prop("kensa:pid", pid)
	prop("kensa:comm", r.Comm)
	prop("kensa:exe", r.Exe)
	if r.ExeDeleted {
		prop("kensa:exe_deleted", "true")
	}
	if r.UID != nil {
		prop("kensa:uid", strconv.Itoa(*r.UID))
	}
	prop("kensa:verdict", string(r.Verdict))
	for _, c := range r.Crypto {
		prop("kensa:crypto", c)
	}
	prop("kensa:language", r.Language)
	prop("kensa:go_version", r.GoVersion)
	prop("kensa:container_id", r.ContainerID)
	prop("kensa:pod_uid", r.PodUID)
	prop("kensa:runtime", r.Runtime)
	prop("kensa:kernel_fips", r.KernelFIPS)
	for _, k := range slices.Sorted(maps.Keys(r.Env)) {
		prop("kensa:env", k+"="+r.Env[k])
	}
	for _, why := range r.Reasons {
		prop("kensa:reason", why)
	}
	for _, m := range r.Modules {
		u.Modules = append(u.Modules, fips.Module(m))
	}
	for _, m := range r.Mapped {
		f := fips.CBOMFile{Path: m.Path, Properties: []cdx.Property{{Name: "kensa:role", Value: m.Role}}}
		if m.Module != "" {
			f.Properties = append(f.Properties, cdx.Property{Name: "kensa:module", Value: m.Module})
		}
		if m.Deleted {
			f.Properties = append(f.Properties, cdx.Property{Name: "kensa:deleted", Value: "true"})
		}
		u.Loaded = append(u.Loaded, f)
	}
	return u
}
