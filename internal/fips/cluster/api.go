package cluster

import (
	"context"
	"fmt"
	"net/url"

	"go.yaml.in/yaml/v3"
)

// machineConfigsPath lists OpenShift's MachineConfigs.
const machineConfigsPath = "/apis/machineconfiguration.openshift.io/v1/machineconfigs"

// Page sizes of the lists (maxResponse bounds each page's body): nodes
// and pods are tens of KiB at most, a report ConfigMap up to 1 MiB, a
// MachineConfig (ignition files inline) about as much.
const (
	maxListPage    = 250
	reportListPage = 32
	mcListPage     = 16
)

// ListInputs reads what the node half needs from the API server: nodes
// (labels, nodeInfo), OpenShift MachineConfigs (none when the CRD is not
// installed or not readable) and install-config's fips (nil when
// kube-system/cluster-config-v1 does not exist or is not readable).
// Node reports are not read here.
func ListInputs(ctx context.Context, api *API, nodeSelector string) (Inputs, error) {
	var in Inputs
	q := url.Values{}
	if nodeSelector != "" {
		q.Set("labelSelector", nodeSelector)
	}
	err := listAll(ctx, api, corePath("", "nodes", ""), q, maxListPage, func(n *apiNode) error {
		in.Nodes = append(in.Nodes, nodeOf(n))
		return nil
	})
	if err != nil {
		return in, fmt.Errorf("list nodes: %w", err)
	}

	err = listAll(ctx, api, machineConfigsPath, nil, mcListPage, func(mc *apiMachineConfig) error {
		in.MachineConfigs = append(in.MachineConfigs, MachineConfig{Name: mc.Metadata.Name, FIPS: mc.Spec.FIPS != nil && *mc.Spec.FIPS})
		return nil
	})
	switch {
	case err == nil:
	case IsNotFound(err), IsForbidden(err):
		// Not OpenShift, or not allowed: no MachineConfig intent.
		in.MachineConfigs = nil
	default:
		return in, fmt.Errorf("list machineconfigs: %w", err)
	}

	var cm ConfigMap
	err = api.get(ctx, corePath("kube-system", "configmaps", "cluster-config-v1"), &cm)
	switch {
	case err == nil:
		if v, ok := installConfigFIPS(cm.Data["install-config"]); ok {
			in.InstallConfigFIPS = &v
		}
	case IsNotFound(err), IsForbidden(err):
	default:
		return in, fmt.Errorf("get kube-system/cluster-config-v1: %w", err)
	}
	return in, nil
}

func nodeOf(n *apiNode) Node {
	ni := n.Status.NodeInfo
	return Node{Name: n.Metadata.Name, Labels: n.Metadata.Labels, OS: ni.OperatingSystem, OSImage: ni.OSImage,
		KernelVersion: ni.KernelVersion, ContainerRuntime: ni.ContainerRuntimeVersion,
		BootID: identifier(ni.BootID), MachineID: identifier(ni.MachineID)}
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
