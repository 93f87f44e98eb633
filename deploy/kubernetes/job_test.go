// Package kubernetes holds kensa's Kubernetes manifests; its test checks
// them with the real kubectl.
package kubernetes

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kensa-project/kensa/internal/testenv"
)

// discovery is the smallest API server kubectl needs to map the
// manifests' kinds without a cluster: the legacy discovery documents for
// the core group and batch/v1. Nothing else is served, so an object of
// another kind or apiVersion fails to map.
func discovery(t *testing.T) *httptest.Server {
	res := func(name, kind string, namespaced bool) map[string]any {
		return map[string]any{"name": name, "singularName": "", "namespaced": namespaced, "kind": kind,
			"verbs": []string{"create", "get", "list", "delete", "patch", "update"}}
	}
	docs := map[string]any{
		"/api": map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}}},
		"/api/v1": map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
			res("configmaps", "ConfigMap", true), res("secrets", "Secret", true),
			res("persistentvolumeclaims", "PersistentVolumeClaim", true), res("namespaces", "Namespace", false)}},
		"/apis": map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{map[string]any{
			"name": "batch", "versions": []any{map[string]string{"groupVersion": "batch/v1", "version": "v1"}},
			"preferredVersion": map[string]string{"groupVersion": "batch/v1", "version": "v1"}}}},
		"/apis/batch/v1": map[string]any{"kind": "APIResourceList", "groupVersion": "batch/v1", "resources": []any{res("jobs", "Job", true)}},
	}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"NotFound","code":404}`)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(s.Close)
	return s
}

// kubectl runs kubectl against the discovery server, with a kubeconfig
// of its own (never the user's cluster).
func kubectl(t *testing.T, server string, args ...string) ([]byte, error) {
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	conf := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: fake, cluster: {server: %q}}]
users: [{name: fake, user: {}}]
contexts: [{name: fake, context: {cluster: fake, user: fake, namespace: kensa-test}}]
current-context: fake
`, server)
	if err := os.WriteFile(kc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("kubectl", append([]string{"--kubeconfig", kc, "--cache-dir", t.TempDir()}, args...)...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%w: %s", err, stderr.String())
	}
	return out, nil
}

// TestJobManifest checks fips-scan-images.yaml with kubectl apply
// --dry-run=client: every object parses and maps to a served kind, and
// apply looks each up (the discovery-only server answers 404, so apply
// would create them). Schema validation needs a real cluster (`kubectl
// apply --dry-run=server`). The test then checks that the Job is wired
// to its ConfigMap and claim and runs the scan the documentation
// describes.
func TestJobManifest(t *testing.T) {
	testenv.NeedCommand(t, "kubectl")
	s := discovery(t)
	out, err := kubectl(t, s.URL, "apply", "--dry-run=client", "--validate=false", "-o", "json", "-f", "fips-scan-images.yaml")
	if err != nil {
		t.Fatalf("kubectl apply --dry-run=client: %v\n%s", err, out)
	}
	type object struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Data map[string]string `json:"data"`
		Spec struct {
			BackoffLimit *int `json:"backoffLimit"`
			Template     struct {
				Spec struct {
					RestartPolicy string `json:"restartPolicy"`
					Containers    []struct {
						Args         []string `json:"args"`
						VolumeMounts []struct {
							Name      string `json:"name"`
							MountPath string `json:"mountPath"`
							SubPath   string `json:"subPath"`
						} `json:"volumeMounts"`
					} `json:"containers"`
					Volumes []struct {
						Name      string `json:"name"`
						ConfigMap *struct {
							Name string `json:"name"`
						} `json:"configMap"`
						Secret *struct {
							SecretName string `json:"secretName"`
						} `json:"secret"`
						PVC *struct {
							ClaimName string `json:"claimName"`
						} `json:"persistentVolumeClaim"`
					} `json:"volumes"`
				} `json:"spec"`
			} `json:"template"`
		} `json:"spec"`
	}
	// kubectl prints a List, or one JSON document per object.
	var list struct{ Items []object }
	dec := json.NewDecoder(bytes.NewReader(out))
	for dec.More() {
		var doc struct {
			object
			Items []object `json:"items"`
		}
		if err := dec.Decode(&doc); err != nil {
			t.Fatalf("kubectl output is not JSON: %v\n%s", err, out)
		}
		if doc.Kind == "List" {
			list.Items = append(list.Items, doc.Items...)
		} else {
			list.Items = append(list.Items, doc.object)
		}
	}
	kinds := map[string]string{}
	for _, it := range list.Items {
		kinds[it.Kind] = it.Metadata.Name
	}
	for _, k := range []string{"ConfigMap", "PersistentVolumeClaim", "Job"} {
		if kinds[k] == "" {
			t.Fatalf("no %s in the manifest (kinds %v)", k, kinds)
		}
	}
	for _, it := range list.Items {
		switch it.Kind {
		case "ConfigMap":
			if !strings.Contains(it.Data["images.txt"], "registry:") {
				t.Errorf("ConfigMap images.txt = %q, want image references", it.Data["images.txt"])
			}
		case "Job":
			ps := it.Spec.Template.Spec
			if ps.RestartPolicy != "Never" || it.Spec.BackoffLimit == nil || *it.Spec.BackoffLimit != 0 {
				t.Errorf("Job retries: restartPolicy %q backoffLimit %v, want Never and 0", ps.RestartPolicy, it.Spec.BackoffLimit)
			}
			c := ps.Containers[0]
			for _, a := range []string{"fips", "scan", "--images=/etc/kensa/images.txt", "--format=json", "--shard=$(KENSA_SHARD)/4", "--output=/reports/fips-images-$(KENSA_SHARD).json"} {
				if !slices.Contains(c.Args, a) {
					t.Errorf("Job args %q lack %q", c.Args, a)
				}
			}
			mounts := map[string]string{}
			for _, m := range c.VolumeMounts {
				mounts[m.Name] = m.MountPath + ":" + m.SubPath
			}
			for _, v := range ps.Volumes {
				switch {
				case v.ConfigMap != nil:
					if v.ConfigMap.Name != kinds["ConfigMap"] || mounts[v.Name] != "/etc/kensa/images.txt:images.txt" {
						t.Errorf("images volume %s: configMap %s mounted at %s", v.Name, v.ConfigMap.Name, mounts[v.Name])
					}
				case v.PVC != nil:
					if v.PVC.ClaimName != kinds["PersistentVolumeClaim"] || mounts[v.Name] != "/reports:" {
						t.Errorf("reports volume %s: claim %s mounted at %s", v.Name, v.PVC.ClaimName, mounts[v.Name])
					}
				}
			}
		}
	}
}

// TestDiscoveryRejectsUnknownKinds shows that the offline check is not a
// rubber stamp: an object of a kind the server does not serve fails.
func TestDiscoveryRejectsUnknownKinds(t *testing.T) {
	testenv.NeedCommand(t, "kubectl")
	s := discovery(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: batch/v1\nkind: Jobb\nmetadata:\n  name: x\n"), 0o644)
	if out, err := kubectl(t, s.URL, "apply", "--dry-run=client", "--validate=false", "-o", "json", "-f", bad); err == nil {
		t.Errorf("kubectl accepted kind Jobb:\n%s", out)
	}
	bad2 := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad2, []byte("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: x\nspec: [\n"), 0o644)
	if out, err := kubectl(t, s.URL, "apply", "--dry-run=client", "--validate=false", "-o", "json", "-f", bad2); err == nil {
		t.Errorf("kubectl accepted broken YAML:\n%s", out)
	}
}
