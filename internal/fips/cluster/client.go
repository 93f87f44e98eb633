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

func (c *client) get(ctx context.Context, rc *rest.RESTClient, ns, resource, name string, into runtime.Object) error {
	return rc.Get().Namespace(ns).Resource(resource).Name(name).
		VersionedParams(&metav1.GetOptions{}, c.params).Do(ctx).Into(into)
}

func (c *client) list(ctx context.Context, rc *rest.RESTClient, ns, resource string, opts metav1.ListOptions, into runtime.Object) error {
	return rc.Get().Namespace(ns).Resource(resource).
		VersionedParams(&opts, c.params).Do(ctx).Into(into)
}

func (c *client) listNodes(ctx context.Context, opts metav1.ListOptions) (*corev1.NodeList, error) {
	var l corev1.NodeList
	return &l, c.list(ctx, c.core, "", "nodes", opts, &l)
}

func (c *client) listPods(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.PodList, error) {
	var l corev1.PodList
	return &l, c.list(ctx, c.core, ns, "pods", opts, &l)
}

func (c *client) listConfigMaps(ctx context.Context, ns string, opts metav1.ListOptions) (*corev1.ConfigMapList, error) {
	var l corev1.ConfigMapList
	return &l, c.list(ctx, c.core, ns, "configmaps", opts, &l)
}

func (c *client) getConfigMap(ctx context.Context, ns, name string) (*corev1.ConfigMap, error) {
	var o corev1.ConfigMap
	return &o, c.get(ctx, c.core, ns, "configmaps", name, &o)
}

func (c *client) getSecret(ctx context.Context, ns, name string) (*corev1.Secret, error) {
	var o corev1.Secret
	return &o, c.get(ctx, c.core, ns, "secrets", name, &o)
}

func (c *client) getDaemonSet(ctx context.Context, ns, name string) (*appsv1.DaemonSet, error) {
	var o appsv1.DaemonSet
	return &o, c.get(ctx, c.apps, ns, "daemonsets", name, &o)
}

func (c *client) getReplicaSet(ctx context.Context, ns, name string) (*appsv1.ReplicaSet, error) {
	var o appsv1.ReplicaSet
	return &o, c.get(ctx, c.apps, ns, "replicasets", name, &o)
}

func (c *client) getJob(ctx context.Context, ns, name string) (*batchv1.Job, error) {
	var o batchv1.Job
	return &o, c.get(ctx, c.batch, ns, "jobs", name, &o)
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
