package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/kensa-project/kensa/internal/cert"
	"github.com/kensa-project/kensa/internal/limitio"
	"github.com/kensa-project/kensa/internal/report"
)

const certInventoryUsage = `Usage: kensa cert inventory --aws FILE --azure FILE [flags]

Reads the JSON the cloud CLIs print (kensa calls no cloud API) and writes a
targets file of every TLS listener with the names it should serve, for
"kensa cert probe --targets" and "kensa cert watch --targets". It also finds
what a probe cannot see: a load balancer that uses a certificate but is
missing from your targets (the forgotten second load balancer), a replaced
certificate still attached to a listener, and a certificate in use that
expires before its renewal is attached anywhere.

Save the inputs with:
    aws acm describe-certificate --certificate-arn ARN > acm-1.json   (InUseBy)
    aws acm list-certificates > acm-list.json                        (InUse)
    aws elbv2 describe-load-balancers > lbs.json
    aws elbv2 describe-listeners --load-balancer-arn ARN > listeners-1.json
    aws elbv2 describe-listener-certificates --listener-arn ARN \
        | jq --arg l ARN '. + {ListenerArn: $l}' > listener-certs-1.json
    az network application-gateway show -g RG -n NAME > appgw.json
    az network application-gateway ssl-cert list -g RG \
        --gateway-name NAME > appgw-certs.json
Several outputs may be concatenated in one file.

Examples:
    kensa cert inventory --aws acm.json --aws elbv2.json --azure appgw.json \
                         -o endpoints.yaml
    kensa cert inventory --aws acm.json --aws elbv2.json --targets mine.yaml \
                         --format json

Inputs:
    --aws FILE             saved AWS CLI output (repeatable)
    --azure FILE           saved az CLI output (repeatable)
    --targets FILE         your own targets file: load balancers missing from
                           it are findings

Checks:
    --min-remaining D|P%   a certificate in use counts as expiring when less
                           is left (default a third of its lifetime)

Output:
    --output FILE, -o FILE the targets file (text format; the findings go to
                           standard error), or the report (--format json|sarif)
    --format text|json|sarif, --fail-on error|warning|never, --at TIME

Exit codes: 0 no finding at or above --fail-on (default error), 1 findings,
2 an input could not be read (the targets file still covers the others).
`

func runCertInventory(ctx context.Context, env *Env, args []string) error {
	fs := newFlagSet("cert inventory")
	common := addCommon(fs, "error")
	var (
		awsFiles, azFiles   stringList
		targetsFile, minRem string
	)
	fs.Var(&awsFiles, "aws", "")
	fs.Var(&azFiles, "azure", "")
	fs.StringVar(&targetsFile, "targets", "", "")
	fs.StringVar(&minRem, "min-remaining", "", "")
	pos, err := parseCommand(env, fs, common, certInventoryUsage+findingsHelp("docs/cert-watch.md", cert.Checks), args)
	if err != nil || pos == nil {
		return err
	}
	if len(pos) > 0 {
		return usageErrorf("cert inventory: unexpected argument %q", pos[0]).withHint("give saved outputs with --aws FILE and --azure FILE")
	}
	if len(awsFiles)+len(azFiles) == 0 {
		return usageErrorf("cert inventory needs saved cloud CLI output").withHint("kensa cert inventory --aws acm.json --aws elbv2.json --azure appgw.json -o endpoints.yaml")
	}
	for _, f := range append(append([]string{}, awsFiles...), azFiles...) {
		if err := checkInput("--aws/--azure", f, "give the JSON saved from the cloud CLI"); err != nil {
			return err
		}
	}
	if err := checkInput("--targets", targetsFile, "give your targets file (see kensa cert probe --help)"); err != nil {
		return err
	}
	threshold, err := parseThresholdFlag(minRem)
	if err != nil {
		return err
	}
	var mine *cert.Targets
	if targetsFile != "" {
		eps, err := gatherEndpoints(targetsFile, nil, nil, false)
		if err != nil {
			return err
		}
		mine = &cert.Targets{Endpoints: eps}
	}
	inv := cert.NewInventory()
	var bad []string
	for _, f := range awsFiles {
		data, err := limitio.ReadFile(f, cert.MaxInventoryFile, "a saved CLI output")
		if err == nil {
			err = inv.AddAWS(f, data)
		}
		if err != nil {
			bad = append(bad, err.Error())
		}
	}
	for _, f := range azFiles {
		data, err := limitio.ReadFile(f, cert.MaxInventoryFile, "a saved CLI output")
		if err == nil {
			err = inv.AddAzure(f, data)
		}
		if err != nil {
			bad = append(bad, err.Error())
		}
	}
	inv.Resolve()
	targets := inv.Targets()
	findings := inv.InventoryFindings(cert.InventoryOptions{At: common.at, Remaining: threshold, Targets: mine})
	problems := append(bad, inv.Problems...)
	inv.Problems = problems
	rep := newReport(env, "cert inventory", common.at)
	rep.Results = inv.Items()
	rep.Findings = findings
	rep.Summary = cert.SummarizeInventory(inv, targets, findings)
	o := outcome{rep: rep}
	if len(problems) > 0 {
		o.after = usageErrorf("%d input(s) could not be used: %s", len(problems), strings.Join(problems, "; ")).
			withHint("kensa reads aws acm describe-certificate/list-certificates, aws elbv2 describe-load-balancers/describe-listeners/describe-listener-certificates and az network application-gateway show/ssl-cert list output")
	}
	var yamlOut bytes.Buffer
	if len(targets.Endpoints) > 0 {
		enc := yaml.NewEncoder(&yamlOut)
		enc.SetIndent(2)
		if err := enc.Encode(targets); err != nil {
			return fmt.Errorf("writing the targets: %w", err)
		}
	}
	o.product = func(w io.Writer) error {
		if len(targets.Endpoints) == 0 {
			_, err := io.WriteString(w, "# kensa cert inventory: no TLS listener with an address in the inputs\nendpoints: []\n")
			return err
		}
		_, err := fmt.Fprintf(w, "# kensa cert inventory: %d TLS listeners (%s)\n%s", len(targets.Endpoints), common.at.Format("2006-01-02 15:04 MST"), yamlOut.Bytes())
		return err
	}
	if common.format == "text" {
		t := &textWriter{w: env.Stderr}
		t.printf("kensa: cert inventory: %d certificates, %d TLS listeners, %d endpoints written\n", len(inv.Certs), len(inv.Listeners), len(targets.Endpoints))
		if len(findings) > 0 {
			report.SortFindings(findings)
			writeFindings(t, findings, false)
		}
	}
	return finish(env, common, o)
}

func init() {
	registerDomain("cert inventory", domainInfo{checks: cert.Checks, doc: "docs/cert-watch.md", summarize: func(_ []json.RawMessage, fs []report.Finding, sums []json.RawMessage) (any, error) {
		// Certificates, listeners and endpoints read are added up; the
		// findings are counted again.
		s, err := addSummaries(sums, (*cert.InventorySummary).Add)
		if err != nil {
			return nil, err
		}
		s.SeverityCounts = report.CountSeverities(fs)
		return s, nil
	}})
}
