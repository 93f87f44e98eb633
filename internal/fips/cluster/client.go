package cluster

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The API client: plain JSON over the HTTP client the kubeconfig gives.
//
// Our own code where client-go's typed clients exist, on purpose. kensa
// reads a handful of fields of seven kinds of objects; client-go's typed
// clients bring k8s.io/api (core/v1 alone is 1.8 MB of code), a scheme,
// and the JSON, YAML, CBOR and protobuf serializers, and every linked
// package's init runs in every kensa command: with them the binary was
// 40 MB and `kensa fips scan /usr` peaked at 32–34 MiB, most of the
// difference being the binary's own pages touched at start. Objects are
// decoded here into structs holding only the fields kensa reads (unknown
// fields are skipped), every response body is bounded (maxResponse),
// lists are paged (limit/continue), and a failed call is an *APIError
// carrying the API server's Status (reason and code), which
// IsNotFound/IsForbidden/IsUnauthorized/IsAlreadyExists test.

// API is a connection to one API server, as Config reads it from a
// kubeconfig or a pod's service account.
type API struct {
	// Host is the API server's URL, as users know it (for messages).
	Host string
	base *url.URL
	hc   *http.Client
}

// maxResponse bounds the body of one API response read. List pages are
// sized so that a page of objects at their largest (a ConfigMap or a
// MachineConfig may hold about 1.5 MiB) stays under it.
const maxResponse = 64 << 20

// APIError is a call the API server refused: its Status object's reason,
// message and HTTP code.
type APIError struct {
	Code    int
	Reason  string
	Message string
}

func (e *APIError) Error() string {
	if e.Message != "" {
		return e.Message
	}
	return fmt.Sprintf("the server answered %d %s", e.Code, cmp.Or(e.Reason, http.StatusText(e.Code)))
}

// reasonIs reports whether err is an APIError of reason, or of code when
// the server gave no reason.
func reasonIs(err error, reason string, code int) bool {
	var e *APIError
	if !errors.As(err, &e) {
		return false
	}
	if e.Reason != "" {
		return e.Reason == reason
	}
	return e.Code == code
}

// IsNotFound reports whether err says the object does not exist.
func IsNotFound(err error) bool { return reasonIs(err, "NotFound", http.StatusNotFound) }

// IsForbidden reports whether err says the caller may not do this.
func IsForbidden(err error) bool { return reasonIs(err, "Forbidden", http.StatusForbidden) }

// IsUnauthorized reports whether err says the caller's credentials were
// refused.
func IsUnauthorized(err error) bool { return reasonIs(err, "Unauthorized", http.StatusUnauthorized) }

// IsAlreadyExists reports whether err says a created object exists.
func IsAlreadyExists(err error) bool { return reasonIs(err, "AlreadyExists", http.StatusConflict) }

// status is the part of a metav1.Status kensa reads.
type status struct {
	Kind    string `json:"kind"`
	Message string `json:"message"`
	Reason  string `json:"reason"`
	Code    int    `json:"code"`
}

// ObjectMeta is the part of an object's metadata kensa reads or writes.
type ObjectMeta struct {
	Name            string            `json:"name,omitempty"`
	Namespace       string            `json:"namespace,omitempty"`
	UID             string            `json:"uid,omitempty"`
	ResourceVersion string            `json:"resourceVersion,omitempty"`
	Labels          map[string]string `json:"labels,omitempty"`
	Annotations     map[string]string `json:"annotations,omitempty"`
	OwnerReferences []OwnerReference  `json:"ownerReferences,omitempty"`
}

// OwnerReference is one of an object's metadata.ownerReferences.
type OwnerReference struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Controller *bool  `json:"controller,omitempty"`
}

// controllerOf is the owner reference marked controller, or nil.
func controllerOf(m *ObjectMeta) *OwnerReference {
	for i := range m.OwnerReferences {
		if r := &m.OwnerReferences[i]; r.Controller != nil && *r.Controller {
			return r
		}
	}
	return nil
}

// ConfigMap is a v1 ConfigMap.
type ConfigMap struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	ObjectMeta `json:"metadata"`
	Data       map[string]string `json:"data,omitempty"`
	BinaryData map[string][]byte `json:"binaryData,omitempty"`
}

// apiNode is the part of a v1 Node kensa reads.
type apiNode struct {
	Metadata ObjectMeta `json:"metadata"`
	Status   struct {
		NodeInfo struct {
			MachineID               string `json:"machineID"`
			BootID                  string `json:"bootID"`
			KernelVersion           string `json:"kernelVersion"`
			OSImage                 string `json:"osImage"`
			ContainerRuntimeVersion string `json:"containerRuntimeVersion"`
			OperatingSystem         string `json:"operatingSystem"`
		} `json:"nodeInfo"`
	} `json:"status"`
}

// apiPod is the part of a v1 Pod kensa reads.
type apiPod struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		NodeName         string         `json:"nodeName"`
		InitContainers   []apiContainer `json:"initContainers"`
		Containers       []apiContainer `json:"containers"`
		ImagePullSecrets []struct {
			Name string `json:"name"`
		} `json:"imagePullSecrets"`
	} `json:"spec"`
	Status struct {
		Phase                 string               `json:"phase"`
		InitContainerStatuses []apiContainerStatus `json:"initContainerStatuses"`
		ContainerStatuses     []apiContainerStatus `json:"containerStatuses"`
	} `json:"status"`
}

type apiContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

type apiContainerStatus struct {
	Name        string `json:"name"`
	Image       string `json:"image"`
	ImageID     string `json:"imageID"`
	ContainerID string `json:"containerID"`
	State       struct {
		Running *struct{} `json:"running"`
	} `json:"state"`
}

// apiSecret is the part of a v1 Secret kensa reads.
type apiSecret struct {
	Type string            `json:"type"`
	Data map[string][]byte `json:"data"`
}

// apiOwned is any object of which kensa reads only the metadata (a
// ReplicaSet, a Job, a DaemonSet).
type apiOwned struct {
	Metadata ObjectMeta `json:"metadata"`
}

// apiMachineConfig is the part of an OpenShift MachineConfig kensa reads.
type apiMachineConfig struct {
	Metadata ObjectMeta `json:"metadata"`
	Spec     struct {
		FIPS *bool `json:"fips"`
	} `json:"spec"`
}

// list is one page of a list.
type list[T any] struct {
	Metadata struct {
		Continue string `json:"continue"`
	} `json:"metadata"`
	Items []T `json:"items"`
}

// Paths of the API's resources.
func corePath(ns, resource, name string) string { return resourcePath("/api/v1", ns, resource, name) }

func resourcePath(prefix, ns, resource, name string) string {
	p := prefix
	if ns != "" {
		p += "/namespaces/" + url.PathEscape(ns)
	}
	p += "/" + resource
	if name != "" {
		p += "/" + url.PathEscape(name)
	}
	return p
}

// call makes one request: body (when not nil) sent as JSON, the answer
// decoded into out (when not nil), a refusal returned as *APIError.
func (a *API) call(ctx context.Context, method, path string, query url.Values, body, out any) error {
	// path is escaped (resourcePath escapes each name): a name cannot
	// reach another resource.
	u := *a.base
	raw := strings.TrimSuffix(a.base.EscapedPath(), "/") + path
	unescaped, err := url.PathUnescape(raw)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	u.Path, u.RawPath = unescaped, raw
	u.RawQuery = query.Encode()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return fmt.Errorf("%s %s: reading the answer: %w", method, path, err)
	}
	if len(b) > maxResponse {
		return fmt.Errorf("%s %s: the answer is larger than %d MiB", method, path, maxResponse>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := &APIError{Code: resp.StatusCode}
		var st status
		if json.Unmarshal(b, &st) == nil && st.Kind == "Status" {
			e.Reason, e.Message = st.Reason, st.Message
		}
		if e.Message == "" {
			e.Message = fmt.Sprintf("%s %s: the server answered %s", method, path, resp.Status)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	return nil
}

// get reads one object at path.
func (a *API) get(ctx context.Context, path string, out any) error {
	return a.call(ctx, http.MethodGet, path, nil, nil, out)
}

// listAll reads every page of the list at path (page objects at a
// time), handing each item to each; an error of each stops the listing.
func listAll[T any](ctx context.Context, a *API, path string, q url.Values, page int, each func(*T) error) error {
	if q == nil {
		q = url.Values{}
	}
	q.Set("limit", strconv.Itoa(page))
	for {
		var l list[T]
		if err := a.call(ctx, http.MethodGet, path, q, nil, &l); err != nil {
			return err
		}
		for i := range l.Items {
			if err := each(&l.Items[i]); err != nil {
				return err
			}
		}
		if l.Metadata.Continue == "" {
			return nil
		}
		q.Set("continue", l.Metadata.Continue)
	}
}
