// Package policy reads exported Azure Firewall policies and predicts, for
// a destination, what the firewall would do with it: allow, deny or
// unknown, and which rule decides. It is the offline half of "egress
// before the deploy": egress whatif asks it about the destinations a
// deploy needs (a profile of the catalog, a list, or the denies of a log)
// before the deploy finds them one HTTP 500 at a time.
//
// The model follows Microsoft's "Configure Azure Firewall rules"
// (articles/firewall/rule-processing.md, ms.date 05/07/2025):
//
//   - Threat intelligence is processed first; in Deny mode a flagged
//     destination is denied before any rule (kensa has no feed: it knows a
//     destination is flagged only from a firewall log).
//   - Then three passes, DNAT, network, application, "regardless of Rule
//     collection group or Rule collection priority and policy
//     inheritance". In each pass the parent policy's rule collection
//     groups come before the child's "regardless of the priority", then
//     groups by priority, collections by priority (100 first), rules top
//     down. Rules are terminating: the first match decides.
//   - Application rules apply only to HTTP, HTTPS and MSSQL, matched by
//     the Host header or SNI, with FQDN wildcards; network rules match
//     addresses (IP, CIDR, range, service tag, IP group) and FQDNs only
//     with DNS proxy.
//   - Then the infrastructure rule collection (platform storage and
//     diagnostics, never a deploy's destinations), then the default deny.
//
// Answers are three-valued. Where kensa cannot know whether a rule
// matches (a web category, a service tag or IP group whose addresses were
// not given, a value a Terraform plan leaves unknown, the address of a
// name), the rule "may match": evaluation goes on as if it did not, and
// the answer is unknown unless every branch ends in the same action. An
// unknown is never reported as an allow.
//
// Policies are read from the shapes they are exported in (see [Read]):
// az CLI JSON, the ARM/REST JSON of firewallPolicies and
// ruleCollectionGroups (also inside an ARM template), classic
// azureFirewalls rule collections, and terraform show -json of a plan or a
// state. Nothing here prints.
package policy

import "net/netip"

// Kind is a rule (or collection) kind, in processing order.
type Kind int

// The kinds, in the order Azure Firewall processes them.
const (
	DNAT Kind = iota
	Network
	Application
)

func (k Kind) String() string {
	return [...]string{"DNAT", "network", "application"}[k]
}

// Set is everything read from the inputs: the policies (or classic
// firewalls) and the side data that rules refer to.
type Set struct {
	Policies []*Policy
	// IPGroups maps an IP group's resource ID and name (lower case) to its
	// addresses.
	IPGroups map[string][]string
	// ServiceTags holds the address prefixes of service tags, from a
	// serviceTags file (az network list-service-tags -o json, or the
	// Service Tags download); nil when none was given.
	ServiceTags *ServiceTagFile
	// Files says what was read from each input.
	Files []FileInfo
	// Firewalls are the policy IDs classic firewall resources point at
	// (properties.firewallPolicy.id): the policy the traffic goes through.
	Firewalls []string
}

// FileInfo is what one input held.
type FileInfo struct {
	Name string `json:"name"`
	// Shape names the export format: "az", "arm", "arm-template",
	// "classic", "terraform-plan", "terraform-state", "service-tags",
	// "ip-groups".
	Shape       string `json:"shape"`
	Policies    int    `json:"policies"`
	Groups      int    `json:"groups"`
	Collections int    `json:"collections"`
	Rules       int    `json:"rules"`
	// Warnings are things read but not understood (skipped, never fatal).
	Warnings []string `json:"warnings,omitempty"`
}

// Policy is a firewall policy, or a classic firewall's own rules.
type Policy struct {
	Name string
	// ID is the resource ID when known ("" otherwise), lower case.
	ResourceID string
	// Parent is the base policy's ID or name ("" for none).
	Parent string
	// Classic is set for the rules of a Microsoft.Network/azureFirewalls
	// resource: no rule collection groups, no policy name in the log.
	Classic bool
	// ThreatIntelMode is Off, Alert or Deny; "" when not known (the input
	// held only rule collection groups).
	ThreatIntelMode  string
	ThreatIntelFQDNs []string
	ThreatIntelIPs   []string
	// DNSProxy is whether DNS proxy is enabled; nil when not known.
	DNSProxy *bool
	// IDPSMode is the intrusion detection mode (Off, Alert, Deny), "" when
	// not known or not set.
	IDPSMode string
	Groups   []*Group
	// From is the input the policy settings came from ("" when only its
	// rule collection groups were read).
	From string
	// ParentUnknown is set when a Terraform plan leaves the base policy
	// unknown.
	ParentUnknown bool
}

// Group is a rule collection group.
type Group struct {
	Name     string
	Priority int
	// PriorityUnknown is set when a Terraform plan leaves it unknown.
	PriorityUnknown bool
	Collections     []*Collection
	// PolicyRef is the policy the group belongs to (ID or name, lower
	// case), as the input names it.
	PolicyRef string
	// PolicyUnknown is set when a plan leaves the policy unknown and no
	// reference names it.
	PolicyUnknown bool
	From          string
}

// Collection is a rule collection: rules of one kind with one action.
type Collection struct {
	Name     string
	Priority int
	Kind     Kind
	// Action is Allow, Deny or DNAT.
	Action          string
	PriorityUnknown bool
	Rules           []*Rule
}

// Rule is one rule. Fields not used by its kind are empty.
type Rule struct {
	Name string
	Kind Kind
	// Protocols of an application rule.
	Protocols []AppProtocol
	// IPProtocols of a network or DNAT rule: TCP, UDP, ICMP, Any.
	IPProtocols    []string
	Sources        []string
	SourceIPGroups []string
	// Destinations are addresses, ranges, CIDRs, "*" or service tags.
	Destinations  []string
	DestIPGroups  []string
	DestFQDNs     []string
	Ports         []string
	TargetFQDNs   []string
	FQDNTags      []string
	WebCategories []string
	TargetURLs    []string
	TerminateTLS  bool
	// Translated* are a DNAT rule's target.
	TranslatedAddress, TranslatedFQDN, TranslatedPort string
	// Unknown names the fields a Terraform plan leaves unknown.
	Unknown []string

	parsedSources []parsedAddr
}

// AppProtocol is an application rule's protocol and port.
type AppProtocol struct {
	Type string // Http, Https, Mssql
	Port int
}

// ServiceTagFile is the part of a service tags file kensa uses.
type ServiceTagFile struct {
	ChangeNumber string
	Cloud        string
	Tags         map[string][]netip.Prefix // by lower-case name
	From         string
}
