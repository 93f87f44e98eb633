package egress

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// This file reads JSON records: Azure Firewall resource logs (legacy, with
// a free-text properties.msg, and structured AZFW* records with typed
// properties), the same records as Log Analytics exports them (columns at
// the top level: msg_s, or the AZFW* table's columns with "Type"), Event
// Hub bodies and pre-2018 blobs ({"records":[…]}), and AWS Network
// Firewall's EVE JSON alerts. Field names match case-insensitively (as
// encoding/json does); ports and booleans may be numbers or strings.

// azProps are the properties of a record (nested under "properties" in
// resource logs, top-level columns in Log Analytics exports).
type azProps struct {
	Msg               string   `json:"msg"`
	MsgS              string   `json:"msg_s"`
	Protocol          string   `json:"Protocol"`
	SourceIP          string   `json:"SourceIp"`
	SourcePort        flexInt  `json:"SourcePort"`
	DestinationIP     string   `json:"DestinationIp"`
	DestinationPort   flexInt  `json:"DestinationPort"`
	Fqdn              string   `json:"Fqdn"`
	Action            string   `json:"Action"`
	Policy            string   `json:"Policy"`
	RuleCollectionGrp string   `json:"RuleCollectionGroup"`
	RuleCollection    string   `json:"RuleCollection"`
	Rule              string   `json:"Rule"`
	ActionReason      string   `json:"ActionReason"`
	WebCategory       string   `json:"WebCategory"`
	ThreatDescription string   `json:"ThreatDescription"`
	SignatureID       flexText `json:"SignatureId"`
	Description       string   `json:"Description"`
	Error             string   `json:"Error"`
}

// record is one JSON record of any supported shape.
type record struct {
	Category       string            `json:"category"`
	Type           string            `json:"Type"`
	OperationName  string            `json:"operationName"`
	Time           flexText          `json:"time"`
	TimeGenerated  flexText          `json:"TimeGenerated"`
	Properties     *azProps          `json:"properties"`
	Records        []json.RawMessage `json:"records"`
	Tables         []laTable         `json:"tables"`
	Event          *eveEvent         `json:"event"`
	EventTimestamp flexText          `json:"event_timestamp"`
	azProps
}

// laTable is a table of the Log Analytics REST API's response.
type laTable struct {
	Columns []struct {
		Name string `json:"name"`
	} `json:"columns"`
	Rows [][]json.RawMessage `json:"rows"`
}

// eveEvent is the Suricata EVE object AWS Network Firewall logs in "event".
type eveEvent struct {
	Timestamp string  `json:"timestamp"`
	EventType string  `json:"event_type"`
	SrcIP     string  `json:"src_ip"`
	DestIP    string  `json:"dest_ip"`
	DestPort  flexInt `json:"dest_port"`
	Proto     string  `json:"proto"`
	AppProto  string  `json:"app_proto"`
	Alert     *struct {
		Action    string   `json:"action"`
		Signature string   `json:"signature"`
		SigID     flexText `json:"signature_id"`
	} `json:"alert"`
	TLS *struct {
		SNI string `json:"sni"`
	} `json:"tls"`
	HTTP *struct {
		Hostname string `json:"hostname"`
	} `json:"http"`
}

// flexInt is a number written as a JSON number, a string, "" or null (-1).
type flexInt int

func (f *flexInt) UnmarshalJSON(b []byte) error {
	*f = -1
	b = bytes.Trim(b, `"`)
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	n, err := strconv.ParseFloat(string(b), 64)
	if err != nil || n < 0 || n > 65535 {
		return nil
	}
	*f = flexInt(n)
	return nil
}

// flexText is a string that may be written as a number or boolean.
type flexText string

func (f *flexText) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexText(s)
		return nil
	}
	if string(b) == "null" {
		*f = ""
		return nil
	}
	*f = flexText(b)
	return nil
}

// maxNesting bounds {"records":[{"records":[…]}]}.
const maxNesting = 3

// recordSink receives the events of a record; it returns false to stop.
type recordSink func(ev *Event)

// parseRecord decodes one JSON record and hands its events to sink. It
// returns the number of events and false when the record has no known
// shape.
func parseRecord(data []byte, ev *Event, sink recordSink) bool {
	return parseRecordDepth(data, ev, sink, 0)
}

func parseRecordDepth(data []byte, ev *Event, sink recordSink, depth int) bool {
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		// A field of an unexpected type ("time": 1694010826, "Rule":
		// 123) is left empty; the rest of the record still counts.
		if _, ok := errors.AsType[*json.UnmarshalTypeError](err); !ok {
			return false
		}
	}
	if r.Tables != nil {
		for _, t := range r.Tables {
			for _, row := range t.Rows {
				fields := map[string]json.RawMessage{}
				var order []string
				for i, v := range row {
					if i < len(t.Columns) {
						fields[t.Columns[i].Name] = v
						order = append(order, t.Columns[i].Name)
					}
				}
				if !parseRecordDepth(rebuild(order, fields), ev, sink, depth+1) {
					ev.reset()
					ev.Kind = KindUnknown
					sink(ev)
				}
			}
		}
		return true
	}
	if r.Records != nil {
		if depth >= maxNesting {
			return false
		}
		any := false
		for _, sub := range r.Records {
			ev.reset()
			if parseRecordDepth(sub, ev, sink, depth+1) {
				any = true
			} else {
				ev.reset()
				ev.Kind = KindUnknown
				sink(ev)
			}
		}
		return any || len(r.Records) == 0 // an empty body is a body
	}
	return r.events(ev, sink)
}

func (r *record) events(ev *Event, sink recordSink) bool {
	ev.reset()
	if r.Event != nil {
		if !r.Event.toEvent(ev) {
			return false
		}
		if ev.Time == 0 {
			ev.Time, _ = parseEpoch([]byte(r.EventTimestamp))
		}
		sink(ev)
		return true
	}
	p := &r.azProps
	if r.Properties != nil {
		p = r.Properties
	}
	var t int64
	if r.Time != "" {
		t, _ = parseTimeString(string(r.Time))
	} else if r.TimeGenerated != "" {
		t, _ = parseTimeString(string(r.TimeGenerated))
	}
	msg := p.Msg
	if msg == "" {
		msg = p.MsgS
	}
	if msg == "" {
		msg = r.MsgS
	}
	if msg != "" {
		if !parseMsg([]byte(msg), ev) {
			return false
		}
		ev.Time = t
		sink(ev)
		return true
	}
	table := r.Category
	if !strings.HasPrefix(strings.ToUpper(table), "AZFW") {
		table = r.Type
	}
	if table == "" {
		table = p.table()
	}
	if !p.structured(strings.ToUpper(table), ev) {
		return false
	}
	ev.Time = t
	sink(ev)
	return true
}

// structured reads an AZFW* record.
func (p *azProps) structured(table string, ev *Event) bool {
	ev.Src = append(ev.Src, p.SourceIP...)
	ev.Port = int(p.DestinationPort)
	ev.Proto = append(ev.Proto, strings.ToUpper(p.Protocol)...)
	host := p.Fqdn
	if host == "" {
		host = p.DestinationIP
	}
	ev.Host = append(ev.Host, host...)
	ev.Action = parseAction([]byte(p.Action))
	ev.Kind = KindTraffic
	switch table {
	case "AZFWAPPLICATIONRULE", "AZFWNETWORKRULE", "AZFWFQDNRESOLVEFAILURE":
		if ev.Action == ActionUnknown {
			return false
		}
		reason := strings.ToLower(p.ActionReason)
		switch {
		case ev.Action == ActionAllow:
			ev.Reason = ReasonAllowed
			ev.Rule = append(ev.Rule, rulePath(p)...)
		case strings.Contains(reason, "sni"), host == "" && table == "AZFWAPPLICATIONRULE":
			ev.Reason = ReasonSNIMissing
			ev.Host = ev.Host[:0]
		case strings.Contains(reason, "resolve"):
			ev.Reason = ReasonUnresolved
			ev.Detail = append(ev.Detail, p.ActionReason...)
		case reason == "default action", strings.HasPrefix(reason, "no rule matched"):
			ev.Reason = ReasonNoRule
		case p.Rule != "":
			ev.Reason = ReasonRule
			ev.Rule = append(ev.Rule, rulePath(p)...)
		default:
			ev.Reason = ReasonDenied
		}
	case "AZFWTHREATINTEL":
		if ev.Action == ActionUnknown {
			return false
		}
		ev.Reason = ReasonThreatIntel
		ev.Rule = append(ev.Rule, "ThreatIntel: "+p.ThreatDescription...)
	case "AZFWIDPSSIGNATURE":
		if ev.Action == ActionUnknown {
			return false
		}
		ev.Reason = ReasonIDPS
		ev.Rule = append(ev.Rule, "Signature: "+string(p.SignatureID)+". IDS: "+p.Description...)
	case "AZFWINTERNALFQDNRESOLUTIONFAILURE":
		ev.Action = ActionDeny
		ev.Reason = ReasonUnresolved
		ev.Port = -1
		ev.Detail = append(ev.Detail, p.Error...)
	case "AZFWNATRULE":
		ev.Kind = KindNAT
	case "AZFWDNSQUERY":
		ev.Kind = KindDNS
	case "AZFWFATFLOW", "AZFWFLOWTRACE":
		ev.Kind = KindOther
	default:
		if strings.HasSuffix(table, "AGGREGATION") {
			ev.Kind = KindOther
			return true
		}
		return false
	}
	if ev.Kind == KindTraffic && len(ev.Src) == 0 && ev.Reason != ReasonUnresolved {
		return false
	}
	return true
}

// table names the AZFW* table a record without "category" or "Type"
// comes from, by its columns: a Log Analytics query that projects columns
// ("AZFWApplicationRule | project TimeGenerated, SourceIp, Fqdn, …")
// drops Type. "" when the columns say nothing.
func (p *azProps) table() string {
	switch {
	case p.Action == "" || p.SourceIP == "":
		return ""
	case p.ThreatDescription != "":
		return "AZFWThreatIntel"
	case p.SignatureID != "":
		return "AZFWIdpsSignature"
	case p.Fqdn != "":
		return "AZFWApplicationRule"
	case p.DestinationIP != "":
		return "AZFWNetworkRule"
	}
	return ""
}

func rulePath(p *azProps) string {
	var parts []string
	for _, s := range []string{p.Policy, p.RuleCollectionGrp, p.RuleCollection, p.Rule} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	s := strings.Join(parts, " / ")
	if p.WebCategory != "" {
		s += " (web category " + p.WebCategory + ")"
	}
	return s
}

// toEvent reads an AWS Network Firewall event. Alerts carry the verdict;
// netflow and tls events are known but carry none.
func (e *eveEvent) toEvent(ev *Event) bool {
	if e.EventType == "" || e.SrcIP == "" {
		return false
	}
	ev.Time, _ = parseTime([]byte(e.Timestamp))
	ev.Family = FamilyAWS
	ev.Src = append(ev.Src, e.SrcIP...)
	if e.EventType != "alert" || e.Alert == nil {
		ev.Kind = KindOther
		return true
	}
	ev.Kind = KindTraffic
	host := e.DestIP
	switch {
	case e.TLS != nil && e.TLS.SNI != "":
		host = e.TLS.SNI
	case e.HTTP != nil && e.HTTP.Hostname != "":
		host = e.HTTP.Hostname
	}
	ev.Host = append(ev.Host, host...)
	ev.Port = int(e.DestPort)
	switch strings.ToLower(e.AppProto) {
	case "tls":
		ev.Proto = append(ev.Proto, "HTTPS"...)
	case "http":
		ev.Proto = append(ev.Proto, "HTTP"...)
	default:
		ev.Proto = append(ev.Proto, strings.ToUpper(e.Proto)...)
	}
	sig := strings.ToLower(e.Alert.Signature)
	switch strings.ToLower(e.Alert.Action) {
	case "blocked", "dropped", "rejected", "drop", "reject":
		ev.Action = ActionDeny
		if strings.Contains(sig, "not matching any") && strings.Contains(sig, "allowlisted") {
			ev.Reason = ReasonNoRule
		} else {
			ev.Reason = ReasonRule
			ev.Rule = append(ev.Rule, e.Alert.Signature...)
		}
	case "allowed":
		ev.Action = ActionAllow
		ev.Reason = ReasonAllowed
		ev.Rule = append(ev.Rule, e.Alert.Signature...)
	default:
		ev.Action = ActionAlert
		ev.Reason = ReasonIDPS
		ev.Rule = append(ev.Rule, "Signature: "+string(e.Alert.SigID)+". IDS: "+e.Alert.Signature...)
	}
	return true
}
