package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// A pod's imagePullSecrets as a go-containerregistry keychain.
//
// Written here rather than taken from go-containerregistry's
// pkg/authn/kubernetes: that module has no tagged release (only
// pseudo-versions) and pulls its own Kubernetes versions; what kensa needs
// is the two documented secret shapes and kubelet's host matching.

// maxSecretData bounds the docker configuration parsed (a Secret is at
// most 1 MiB anyway).
const maxSecretData = 1 << 20

// dockerAuth is one entry of a docker configuration's auths.
type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// secretKeychain resolves registries against the entries of one pull
// secret, as the kubelet matches them: the key's host (scheme and path
// dropped; docker.io, index.docker.io and registry-1.docker.io are one),
// where each dot-separated label may be a glob ("*.azurecr.io").
type secretKeychain struct {
	entries []secretEntry
}

type secretEntry struct {
	host string
	auth authn.AuthConfig
}

// Pull secret types and their keys (k8s.io/api/core/v1's names).
const (
	SecretTypeDockerConfigJSON = "kubernetes.io/dockerconfigjson"
	SecretTypeDockercfg        = "kubernetes.io/dockercfg"
	DockerConfigJSONKey        = ".dockerconfigjson"
	DockerConfigKey            = ".dockercfg"
)

// SecretKeychain reads a pull secret's data (type
// kubernetes.io/dockerconfigjson: key .dockerconfigjson holding
// {"auths": {...}}; type kubernetes.io/dockercfg: key .dockercfg holding
// the auths object itself).
func SecretKeychain(typ string, data map[string][]byte) (authn.Keychain, error) {
	var raw []byte
	switch typ {
	case SecretTypeDockerConfigJSON:
		raw = data[DockerConfigJSONKey]
	case SecretTypeDockercfg:
		raw = data[DockerConfigKey]
	default:
		return nil, fmt.Errorf("secret type %q is not a docker configuration", typ)
	}
	auths, err := parseDockerConfig(raw, typ == SecretTypeDockerConfigJSON)
	if err != nil {
		return nil, err
	}
	kc := &secretKeychain{}
	for key, a := range auths {
		h := registryHost(key)
		if h == "" {
			continue
		}
		kc.entries = append(kc.entries, secretEntry{host: h, auth: authn.AuthConfig{
			Username: a.Username, Password: a.Password, Auth: a.Auth,
			IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken,
		}})
	}
	return kc, nil
}

// parseDockerConfig reads the auths of a docker configuration.
func parseDockerConfig(raw []byte, wrapped bool) (map[string]dockerAuth, error) {
	if len(raw) == 0 {
		return nil, errors.New("the secret holds no docker configuration")
	}
	if len(raw) > maxSecretData {
		return nil, fmt.Errorf("docker configuration larger than %d KiB", maxSecretData>>10)
	}
	var auths map[string]dockerAuth
	if wrapped {
		var doc struct {
			Auths map[string]dockerAuth `json:"auths"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			return nil, fmt.Errorf("docker configuration: %w", err)
		}
		auths = doc.Auths
	} else if err := json.Unmarshal(raw, &auths); err != nil {
		return nil, fmt.Errorf("docker configuration: %w", err)
	}
	return auths, nil
}

// registryHost normalises an auths key to a host[:port] in lower case.
func registryHost(key string) string {
	k := strings.ToLower(strings.TrimSpace(key))
	if _, rest, ok := strings.Cut(k, "://"); ok {
		k = rest
	}
	k, _, _ = strings.Cut(k, "/")
	switch k {
	case "index.docker.io", "registry-1.docker.io":
		k = "docker.io"
	}
	return k
}

// Resolve implements authn.Keychain.
func (kc *secretKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	want := registryHost(r.RegistryStr())
	for _, e := range kc.entries {
		if hostMatches(e.host, want) {
			return authn.FromConfig(e.auth), nil
		}
	}
	return authn.Anonymous, nil
}

// hostMatches matches host[:port] against a pattern whose labels may be
// globs; the ports must be equal.
func hostMatches(pattern, host string) bool {
	if pattern == host {
		return true
	}
	ph, pp := splitPort(pattern)
	hh, hp := splitPort(host)
	if pp != hp {
		return false
	}
	pl, hl := strings.Split(ph, "."), strings.Split(hh, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, err := path.Match(pl[i], hl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitPort(h string) (host, port string) {
	if i := strings.LastIndexByte(h, ':'); i >= 0 && !strings.Contains(h[i:], "]") {
		return h[:i], h[i+1:]
	}
	return h, ""
}
