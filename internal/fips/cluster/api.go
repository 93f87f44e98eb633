package cluster

import (
	"context"
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config loads a client configuration the way kubectl does: kubeconfig
// (KUBECONFIG or ~/.kube/config, or the file given) and context (the
// current one unless given), and in a pod without a kubeconfig the
// in-cluster service account.
func Config(kubeconfig, context string) (*rest.Config, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules,
		&clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "kensa"
	return cfg, nil
}

// ContextName is the kubeconfig context Config uses ("" in a pod with
// no kubeconfig).
func ContextName(kubeconfig, context string) string {
	if context != "" {
		return context
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	raw, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).RawConfig()
	if err != nil {
		return ""
	}
	return raw.CurrentContext
}

var machineConfigs = schema.GroupVersionResource{Group: "machineconfiguration.openshift.io", Version: "v1", Resource: "machineconfigs"}

// maxListPage bounds each list call's page.
const maxListPage = 500

// ListInputs reads what the node half needs from the API server: nodes
// (labels, nodeInfo), OpenShift MachineConfigs (none when the CRD is not
// installed or not readable) and install-config's fips (nil when
// kube-system/cluster-config-v1 does not exist or is not readable).
// Node reports are not read here.
func ListInputs(ctx context.Context, cfg *rest.Config, nodeSelector string) (Inputs, error) {
	var in Inputs
	cs, err := newClient(cfg)
	if err != nil {
		return in, err
	}
	opts := metav1.ListOptions{LabelSelector: nodeSelector, Limit: maxListPage}
	for {
		nl, err := cs.listNodes(ctx, opts)
		if err != nil {
			return in, fmt.Errorf("list nodes: %w", err)
		}
		for _, n := range nl.Items {
			in.Nodes = append(in.Nodes, nodeOf(n))
		}
		if nl.Continue == "" {
			break
		}
		opts.Continue = nl.Continue
	}

	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return in, err
	}
	mcl, err := dc.Resource(machineConfigs).List(ctx, metav1.ListOptions{Limit: maxListPage})
	switch {
	case err == nil:
		for _, u := range mcl.Items {
			fips, _, _ := unstructuredBool(u.Object, "spec", "fips")
			in.MachineConfigs = append(in.MachineConfigs, MachineConfig{Name: u.GetName(), FIPS: fips})
		}
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
		// Not OpenShift, or not allowed: no MachineConfig intent.
	default:
		return in, fmt.Errorf("list machineconfigs: %w", err)
	}

	cm, err := cs.getConfigMap(ctx, "kube-system", "cluster-config-v1")
	switch {
	case err == nil:
		if v, ok := installConfigFIPS(cm.Data["install-config"]); ok {
			in.InstallConfigFIPS = &v
		}
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err):
	default:
		return in, fmt.Errorf("get kube-system/cluster-config-v1: %w", err)
	}
	return in, nil
}

func nodeOf(n corev1.Node) Node {
	ni := n.Status.NodeInfo
	return Node{Name: n.Name, Labels: n.Labels, OS: ni.OperatingSystem, OSImage: ni.OSImage,
		KernelVersion: ni.KernelVersion, ContainerRuntime: ni.ContainerRuntimeVersion,
		BootID: identifier(ni.BootID), MachineID: identifier(ni.MachineID)}
}

func unstructuredBool(obj map[string]any, path ...string) (bool, bool, error) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return false, false, errors.New("not an object")
		}
		cur, ok = m[p]
		if !ok {
			return false, false, nil
		}
	}
	b, ok := cur.(bool)
	return b, ok, nil
}

// maxInstallConfig bounds the install-config YAML parsed.
const maxInstallConfig = 1 << 20

// installConfigFIPS reads the top-level fips of an install-config.
func installConfigFIPS(s string) (bool, bool) {
	if s == "" || len(s) > maxInstallConfig {
		return false, false
	}
	var doc struct {
		FIPS *bool `yaml:"fips"`
	}
	if err := yaml.Unmarshal([]byte(s), &doc); err != nil || doc.FIPS == nil {
		return false, false
	}
	return *doc.FIPS, true
}
