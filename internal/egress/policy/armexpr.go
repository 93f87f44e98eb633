package policy

import (
	"strings"
)

// ARM templates exported from the portal name resources with template
// expressions: "[parameters('firewallPolicies_hub_name')]",
// "[concat(parameters('firewallPolicies_hub_name'), '/DefaultApplicationRuleCollectionGroup')]",
// and refer to them with "[resourceId('Microsoft.Network/firewallPolicies',
// parameters('…'))]". armResolver evaluates that small language —
// string literals, parameters() (their defaultValue), variables(),
// concat() and resourceId() — and nothing else: an expression it cannot
// evaluate stays as it is (and the reader reports it).

type armResolver struct {
	params map[string]any
	vars   map[string]any
}

func newARMResolver(tpl map[string]any) *armResolver {
	r := &armResolver{params: map[string]any{}, vars: map[string]any{}}
	for k, v := range obj(tpl, "parameters") {
		if m, ok := v.(map[string]any); ok {
			if d, ok := lookup(m, "defaultValue"); ok {
				r.params[strings.ToLower(k)] = d
			}
		}
	}
	for k, v := range obj(tpl, "variables") {
		r.vars[strings.ToLower(k)] = v
	}
	return r
}

// resolveTree replaces every string that is a whole template expression
// in v (recursively) by its value, when it can be evaluated.
func (r *armResolver) resolveTree(v any, depth int) any {
	if depth > 64 {
		return v
	}
	switch t := v.(type) {
	case string:
		if s, ok := r.eval(t); ok {
			return s
		}
	case map[string]any:
		for k, x := range t {
			t[k] = r.resolveTree(x, depth+1)
		}
	case []any:
		for i, x := range t {
			t[i] = r.resolveTree(x, depth+1)
		}
	}
	return v
}

// eval evaluates "[expr]"; "[[" escapes a literal "[".
func (r *armResolver) eval(s string) (any, bool) {
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' || strings.HasPrefix(s, "[[") {
		return nil, false
	}
	p := &exprParser{s: s[1 : len(s)-1], r: r}
	v, ok := p.expr(0)
	p.skip()
	if !ok || p.i != len(p.s) {
		return nil, false
	}
	return v, true
}

type exprParser struct {
	s string
	i int
	r *armResolver
}

func (p *exprParser) skip() {
	for p.i < len(p.s) && p.s[p.i] == ' ' {
		p.i++
	}
}

func (p *exprParser) expr(depth int) (any, bool) {
	if depth > 32 {
		return nil, false
	}
	p.skip()
	if p.i >= len(p.s) {
		return nil, false
	}
	if p.s[p.i] == '\'' {
		var b strings.Builder
		for p.i++; p.i < len(p.s); p.i++ {
			if p.s[p.i] == '\'' {
				if p.i+1 < len(p.s) && p.s[p.i+1] == '\'' {
					b.WriteByte('\'')
					p.i++
					continue
				}
				p.i++
				return b.String(), true
			}
			b.WriteByte(p.s[p.i])
		}
		return nil, false
	}
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] >= 'a' && p.s[p.i] <= 'z' || p.s[p.i] >= 'A' && p.s[p.i] <= 'Z') {
		p.i++
	}
	name := strings.ToLower(p.s[start:p.i])
	p.skip()
	if name == "" || p.i >= len(p.s) || p.s[p.i] != '(' {
		return nil, false
	}
	p.i++
	var args []any
	for {
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
			break
		}
		v, ok := p.expr(depth + 1)
		if !ok {
			return nil, false
		}
		args = append(args, v)
		p.skip()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		if p.i < len(p.s) && p.s[p.i] == ')' {
			p.i++
			break
		}
		return nil, false
	}
	strArgs := func() ([]string, bool) {
		var out []string
		for _, a := range args {
			s, ok := a.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	switch name {
	case "parameters", "variables":
		if len(args) != 1 {
			return nil, false
		}
		k, ok := args[0].(string)
		if !ok {
			return nil, false
		}
		m := p.r.params
		if name == "variables" {
			m = p.r.vars
		}
		v, ok := m[strings.ToLower(k)]
		if s, isStr := v.(string); isStr {
			if e, ok := p.r.eval(s); ok && depth < 8 {
				return e, true
			}
		}
		return v, ok
	case "concat":
		ss, ok := strArgs()
		if !ok {
			return nil, false
		}
		return strings.Join(ss, ""), true
	case "resourceid":
		// resourceId([subscriptionId], [resourceGroup], type, name1, name2…):
		// kensa needs only the type's segments and the names.
		ss, ok := strArgs()
		if !ok || len(ss) < 2 {
			return nil, false
		}
		for i, s := range ss {
			if strings.Contains(s, "/") && strings.Contains(s, ".") && i+1 < len(ss) {
				types := strings.Split(s, "/")
				names := ss[i+1:]
				var b strings.Builder
				b.WriteString("/providers/" + types[0])
				for j, n := range names {
					if j+1 < len(types) {
						b.WriteString("/" + types[j+1])
					}
					b.WriteString("/" + n)
				}
				return b.String(), true
			}
		}
		return nil, false
	}
	return nil, false
}
