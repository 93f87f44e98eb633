package cluster

import (
	"context"
	"fmt"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
)

// client makes the few typed calls kensa needs (nodes, pods, ConfigMaps,
// secrets, DaemonSets, ReplicaSets, Jobs) over REST clients whose scheme
// knows only core/v1, apps/v1 and batch/v1.
//
// Our own code where client-go's clientset exists, on purpose: the
// clientset's scheme registers every API group of Kubernetes at program
// start, which tripled kensa's binary (26 → 76 MB) and added about 20 MiB
// of resident memory to every command, fips scan of /usr included.
type client struct {
	core, apps, batch *rest.RESTClient
	params            runtime.ParameterCodec
}

// clientScheme is built on first use, not at start: commands other than
// fips cluster never pay for it.
var clientScheme = sync.OnceValue(func() *runtime.Scheme {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, appsv1.AddToScheme, batchv1.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // static registration: a bug, not an input
		}
	}
	return s
})

// newClient returns a client for cfg.
func newClient(cfg *rest.Config) (*client, error) {
	codecs := serializer.NewCodecFactory(clientScheme())
	mk := func(gv schema.GroupVersion, apiPath string) (*rest.RESTClient, error) {
		c := rest.CopyConfig(cfg)
		c.GroupVersion = &gv
		c.APIPath = apiPath
		c.NegotiatedSerializer = codecs.WithoutConversion()
		if c.UserAgent == "" {
			c.UserAgent = rest.DefaultKubernetesUserAgent()
		}
		rc, err := rest.RESTClientFor(c)
		if err != nil {
			return nil, fmt.Errorf("kubernetes client for %s: %w", gv, err)
		}
		return rc, nil
	}
	var cl client
	var err error
	if cl.core, err = mk(corev1.SchemeGroupVersion, "/api"); err != nil {
		return nil, err
	}
	if cl.apps, err = mk(appsv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	if cl.batch, err = mk(batchv1.SchemeGroupVersion, "/apis"); err != nil {
		return nil, err
	}
	cl.params = runtime.NewParameterCodec(clientScheme())
	return &cl, nil
}

// object is a pointer to an API type the client's scheme knows.
type object[T any] interface {
	*T
	runtime.Object
}

// get reads one object of resource in namespace ns ("" for a cluster
// resource) through rc.
func get[T any, P object[T]](ctx context.Context, c *client, rc *rest.RESTClient, ns, resource, name string) (P, error) {
	o := P(new(T))
	err := rc.Get().Namespace(ns).Resource(resource).Name(name).
		VersionedParams(&metav1.GetOptions{}, c.params).Do(ctx).Into(o)
	return o, err
}

// list reads one page of resource in namespace ns ("" for all, or a
// cluster resource) through rc.
func list[T any, P object[T]](ctx context.Context, c *client, rc *rest.RESTClient, ns, resource string, opts metav1.ListOptions) (P, error) {
	o := P(new(T))
	err := rc.Get().Namespace(ns).Resource(resource).
		VersionedParams(&opts, c.params).Do(ctx).Into(o)
	return o, err
}

func (c *client) listNodes(ctx context.Context, opts metav1.ListOptions) (*corev1.NodeList, error) {
	return list[corev1.NodeList](ctx, c, c.core, "", "nodes", opts)
}

func (c *client) listPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	return list[corev1.PodList](ctx, c, c.core, ns, "pods", opts)
}

func (c *client) listConfigMaps(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	return list[corev1.ConfigMapList](ctx, c, c.core, ns, "configmaps", opts)
}

func (c *client) getConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	return get[corev1.ConfigMap](ctx, c, c.core, ns, "configmaps", name)
}

func (c *client) getSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	return get[corev1.Secret](ctx, c, c.core, ns, "secrets", name)
}

func (c *client) getDaemonSet(ctx context.Context, ns, name string) (*appsv1.DaemonSet, error) {
	return get[appsv1.DaemonSet](ctx, c, c.apps, ns, "daemonsets", name)
}

func (c *client) getReplicaSet(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	return get[appsv1.ReplicaSet](ctx, c, c.apps, ns, "replicasets", name)
}

func (c *client) getJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	return get[batchv1.Job](ctx, c, c.batch, ns, "jobs", name)
}

// createConfigMap creates cm; updateConfigMap replaces it whole.
func (c *client) createConfigMap(ctx context.Context, cm *corev1.ConfigMap, fieldManager string) error {
	return c.core.Post().Namespace(cm.Namespace).Resource("configmaps").
		VersionedParams(&metav1.CreateOptions{FieldManager: fieldManager}, c.params).Body(cm).Do(ctx).Error()
}

func (c *client) updateConfigMap(ctx context.Context, cm *corev1.ConfigMap, fieldManager string) error {
	return c.core.Put().Namespace(cm.Namespace).Resource("configmaps").Name(cm.Name).
		VersionedParams(&metav1.UpdateOptions{FieldManager: fieldManager}, c.params).Body(cm).Do(ctx).Error()
}
