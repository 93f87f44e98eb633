package cluster

import (
	"cmp"
	"slices"

	"github.com/kensa-project/kensa/internal/report"
)

// The report of `kensa fips cluster` is one kensa/v1 document whose
// results are of three kinds, told apart by "kind": "node" (NodeResult),
// "workload" and "image" (the workload half). Its summary is [Summary]:
// the nodes in all and per pool, and the workloads in all and per
// namespace.

// Summary is the summary of a fips cluster report. Merged reports (one
// per node selector or namespace) add up with [Summary.Add]; kensa report
// merge re-counts the nodes from the merged results.
type Summary struct {
	// Nodes counts every node; Pools the nodes of each pool (the AKS
	// agent pool or the OpenShift role; nodes without one are not in a
	// pool).
	Nodes NodeSummary            `json:"nodes"`
	Pools map[string]NodeSummary `json:"pools"`
	// Reports counts the node reports read (published ConfigMaps and
	// files) and DaemonSet says whether the node scan is deployed:
	// present, absent or unknown (not readable), "" when not asked.
	Reports   int    `json:"reports"`
	DaemonSet string `json:"daemonset,omitempty"`
	// Workloads counts the workloads in all and per namespace, and the
	// images behind them (absent when workloads were not asked for).
	Workloads *WorkloadSummary `json:"workloads,omitempty"`
	report.SeverityCounts
}

// Summarize counts node results and findings.
func Summarize(rs []NodeResult, fs []report.Finding) Summary {
	s := Summary{Nodes: SummarizeNodes(rs, fs), Pools: map[string]NodeSummary{}}
	byPool := map[string][]NodeResult{}
	for _, r := range rs {
		if r.Pool != "" {
			byPool[r.Pool] = append(byPool[r.Pool], r)
		}
		if r.Report != nil {
			s.Reports++
		}
	}
	for pool, prs := range byPool {
		var pfs []report.Finding
		for _, f := range fs {
			if slices.ContainsFunc(prs, func(r NodeResult) bool { return r.Name == f.Subject }) {
				pfs = append(pfs, f)
			}
		}
		s.Pools[pool] = SummarizeNodes(prs, pfs)
	}
	s.SeverityCounts = report.CountSeverities(fs)
	return s
}

// Add adds o's counts.
func (s *Summary) Add(o Summary) {
	s.Nodes.Add(o.Nodes)
	s.Pools = report.AddEach(s.Pools, o.Pools)
	s.Reports += o.Reports
	s.DaemonSet = cmp.Or(s.DaemonSet, o.DaemonSet)
	if o.Workloads != nil {
		if s.Workloads == nil {
			s.Workloads = &WorkloadSummary{}
		}
		s.Workloads.Add(*o.Workloads)
	}
	s.SeverityCounts.Add(o.SeverityCounts)
}
