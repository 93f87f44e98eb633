package egress

import (
	"strings"
	"testing"
)

func TestProfilesEmbedded(t *testing.T) {
	ps := Profiles()
	want := []string{"aks-required", "appservice-linux-dotnet", "appservice-linux-java", "appservice-linux-node",
		"appservice-linux-php", "appservice-linux-python", "composer", "docker-hub", "functions-deploy",
		"kudu-deploy", "maven", "mcr", "npm", "nuget", "oryx-build", "pip"}
	var got []string
	for _, p := range ps {
		got = append(got, p.Name)
		for _, d := range p.Destinations {
			if d.Source == "" || d.AsOf == "" || d.Why == "" || d.Service == "" || d.ServiceName == "" {
				t.Errorf("%s: %s: missing source, as_of, why or service: %+v", p.Name, d.Host, d)
			}
			if strings.Contains(d.Host, "*") && d.Example == "" && d.Fill == "" {
				t.Errorf("%s: %s: wildcard without example or fill", p.Name, d.Host)
			}
			if m := DefaultCatalog().Match(d.Host, d.Port, ""); !strings.Contains(d.Host, "*") && (m == nil || m.Service.ID != d.Service) {
				t.Errorf("%s: %s: the catalog classifies it as %v, the profile says %s", p.Name, d.Host, m, d.Service)
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("profiles = %v, want %v", got, want)
	}
}

func TestLookupProfile(t *testing.T) {
	p, err := LookupProfile("appservice-linux-python")
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, d := range p.Destinations {
		hosts = append(hosts, d.Host)
	}
	if got, want := strings.Join(hosts, " "), "*.scm.azurewebsites.net oryx-cdn.microsoft.io pypi.org files.pythonhosted.org"; got != want {
		t.Errorf("hosts = %q, want %q", got, want)
	}
	b := p.Bind(map[string]string{"app": "contoso-api"})
	if b.Destinations[0].Host != "contoso-api.scm.azurewebsites.net" || b.Destinations[0].Fill != "" {
		t.Errorf("bound = %+v", b.Destinations[0])
	}
	if b := p.Bind(map[string]string{"app": "Contoso-API.azurewebsites.net"}); b.Destinations[0].Host != "contoso-api.scm.azurewebsites.net" {
		t.Errorf("bound by host name = %+v", b.Destinations[0])
	}
	if p.Destinations[0].Host != "*.scm.azurewebsites.net" {
		t.Error("Bind changed the original profile")
	}
	if _, err := LookupProfile("nope"); err == nil || !strings.Contains(err.Error(), "appservice-linux-python") {
		t.Errorf("unknown profile error = %v, want the known names", err)
	}
}

func TestParseProfilesRejects(t *testing.T) {
	for name, data := range map[string]string{
		"host not in service": `{"as_of":"2026-12-04","profiles":[{"name":"x","title":"x","destinations":[{"service":"pypi","host":"evil.example","why":"w"}]}]}`,
		"unknown service":     `{"as_of":"2026-12-04","profiles":[{"name":"x","title":"x","destinations":[{"service":"nope","host":"pypi.org","why":"w"}]}]}`,
		"wildcard no example": `{"as_of":"2026-12-04","profiles":[{"name":"x","title":"x","destinations":[{"service":"mcr","host":"*.data.mcr.microsoft.com","why":"w"}]}]}`,
		"include loop":        `{"as_of":"2026-12-04","profiles":[{"name":"x","title":"x","include":["x"]}]}`,
		"bad example":         `{"as_of":"2026-12-04","profiles":[{"name":"x","title":"x","destinations":[{"service":"mcr","host":"*.data.mcr.microsoft.com","example":"mcr.microsoft.com","why":"w"}]}]}`,
	} {
		if _, err := parseProfiles([]byte(data), DefaultCatalog()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
