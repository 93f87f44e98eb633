package explain

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	tests := []struct {
		file, app string
		want      string // signature=dest,dest; …
	}{
		{"kudu-oryx-python.csv", "", "oryx-sdk-list=oryx-cdn.microsoft.io:443"},
		{"func-publish.txt", "", "kudu-self-call=<app>.scm.azurewebsites.net:443,<app>.azurewebsites.net:443"},
		{"func-publish.txt", "fn-orders", "kudu-self-call=fn-orders.scm.azurewebsites.net:443,fn-orders.azurewebsites.net:443"},
		{"az-webapp-deploy.txt", "", "kudu-self-call=orders-api.scm.azurewebsites.net:443,orders-api.azurewebsites.net:443"},
		{"oryx-new.log", "", "oryx-sdk-list=oryx-cdn.microsoft.io:443"},
		{"pip.log", "", "pip-retry=pypi.org:443,files.pythonhosted.org:443"},
		{"pip-files.log", "", "pip-retry=files.pythonhosted.org:443,pypi.org:443"},
		{"npm.log", "", "npm-network=registry.npmjs.org:443"},
		{"nuget.log", "", "nuget-service-index=api.nuget.org:443,globalcdn.nuget.org:443"},
		{"maven.log", "", "maven-transfer=repo.maven.apache.org:443"},
		{"maven-pkix.log", "", "maven-transfer=repo.maven.apache.org:443; maven-pkix=repo.maven.apache.org:443"},
		{"docker.log", "", "docker-pull=registry-1.docker.io:443"},
		{"unrecognised.log", "", ""},
	}
	for _, tt := range tests {
		f, err := os.Open(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		res, err := Explain(tt.file, f, tt.app)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, m := range res.Matches {
			var ds []string
			for _, d := range m.Destinations {
				ds = append(ds, d.Host+":"+itoa(d.Port))
				if d.Service == nil && !d.Placeholder {
					t.Errorf("%s: %s has no catalog service", tt.file, d.Host)
				}
			}
			parts = append(parts, m.Signature+"="+strings.Join(ds, ","))
		}
		if got := strings.Join(parts, "; "); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.file, got, tt.want)
		}
	}
}

func itoa(n int) string {
	b := []byte{}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
