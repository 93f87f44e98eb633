// Package egress turns firewall and proxy logs into the list of outbound
// destinations a deployment was denied, the service that needs each, and
// the Azure Firewall rules that would allow them.
//
// The model has three stages:
//
//  1. Readers, one per log format, turn bytes into [Event]s: Azure
//     Firewall's legacy "msg" text (plain lines, or inside JSON records:
//     JSON Lines storage blobs, Event Hub {"records":[…]} bodies, Log
//     Analytics exports), Azure Firewall's structured AZFW* records, Squid's
//     native access.log and AWS Network Firewall's EVE JSON alerts. The
//     format is detected per input ([Detect]) unless forced, gzip is read
//     transparently, and everything streams: line formats are cut into
//     chunks that workers parse in parallel, so memory stays flat in the
//     size of the input. A line that is no record of a known format is
//     counted and the first few are kept with their line numbers; it never
//     stops a run.
//  2. The aggregator folds events into [Destination]s keyed by host, port,
//     protocol and reason, with counts, distinct sources and first/last
//     seen. Allowed traffic is kept only when asked for.
//  3. The [Catalog] (an embedded data file, each service with its source
//     document and as-of date) says which service needs a destination and
//     which companion hosts (CDN and redirect targets) usually come with it;
//     [MakePlan] turns the destinations that lack an allow rule into a
//     [Plan] of rule collections, which [WriteRules] renders ([WriteAz],
//     [WriteBicep], [WriteTerraform]).
//
// The same plan is written for the firewall the logs came from: Azure
// Firewall ([WriteAz], [WriteBicep], [WriteTerraform]), AWS Network
// Firewall ([WriteAWSNFW] and its CloudFormation, Terraform and Suricata
// forms) and Squid ([WriteSquid]); [ForeignRules] says when the rules are
// for another firewall than the logs came from.
//
// [Profiles] (profiles.json) are named sets of destinations a workload
// needs, each destination a host of a catalog service: what egress whatif
// evaluates against a policy (sub-package policy) and egress check probes.
// Sub-package explain maps a failed deploy's log to the destinations its
// failing step needed.
//
// Nothing here prints: the cli package renders the results.
package egress
