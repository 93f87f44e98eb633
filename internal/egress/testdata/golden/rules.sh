#!/bin/sh
# Azure Firewall Policy rules that allow the destinations kensa found denied
# (kensa egress analyze). Review them before applying: each rule names the
# sources seen in the logs; a subnet may suit you better (--source).
# Not allowed: 10.20.0.4:2323: every source is a public address: inbound traffic, not egress
# Not allowed: agent.westeurope.build.example.net:443: the firewall could not resolve the name: fix DNS (DNS proxy, private DNS zone), not the rules
# Not allowed: db.internal.example: the firewall could not resolve the name: fix DNS (DNS proxy, private DNS zone), not the rules
# Not allowed: 203.0.113.80:8080: denied by a rule of your own: change that rule if the deployment needs it
# Not allowed: 203.0.113.91: denied by a rule of your own: change that rule if the deployment needs it
# Not allowed: telemetry.example.org:443: denied by a rule of your own: change that rule if the deployment needs it
# Not allowed: 198.51.100.23:443: denied by threat intelligence: investigate, do not allow
# Not allowed: 198.51.100.77:443: dropped by an IDPS signature: investigate, do not allow
# Not allowed: 203.0.113.135:80: dropped by an IDPS signature: investigate, do not allow
# Not allowed: ocsp.badca.example.net:80: denied by threat intelligence: investigate, do not allow
# Needs the azure-firewall extension (az extension add --name azure-firewall).
set -eu
RG="${RG:?set RG to the resource group of the firewall policy}"
POLICY="${POLICY:?set POLICY to the name of the firewall policy}"
RCG="${RCG:-kensa-egress}"
PRIORITY="${PRIORITY:-300}"

if az network firewall policy rule-collection-group show --resource-group "$RG" --policy-name "$POLICY" \
  --name "$RCG" >/dev/null 2>&1; then
  echo "rule collection group $RCG already exists in $POLICY: creating it again would replace its rules; set RCG to a new name" >&2
  exit 1
fi
az network firewall policy rule-collection-group create --resource-group "$RG" --policy-name "$POLICY" \
  --name "$RCG" --priority "$PRIORITY"

# AKS (cluster egress)
# source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf; Azure/AKS#4792
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-aks-udp-1194' --collection-priority 100 --action Allow \
  --rule-name 'aks-udp-1194' --rule-type NetworkRule \
  --source-addresses '10.50.3.4' \
  --ip-protocols UDP --destination-ports '1194' \
  --destination-addresses '203.0.113.90'

# App Service content share (Azure Files over SMB)
# source: MicrosoftDocs/azure-docs articles/app-service/configure-vnet-integration-routing.md@972fa580
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-app-service-content-share-tcp-445' --collection-priority 110 --action Allow \
  --rule-name 'app-service-content-share-tcp-445' --rule-type NetworkRule \
  --source-addresses '10.20.5.7' '10.60.1.4' \
  --ip-protocols TCP --destination-ports '445' \
  --destination-addresses '192.0.2.46' '203.0.113.100'

# Azure Storage account
# source: MicrosoftDocs/azure-docs app-service/environment/firewall-integration.md@4c3232ad (service endpoint dependencies)
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-azure-storage-https' --collection-priority 120 --action Allow \
  --rule-name 'azure-storage-https' --rule-type ApplicationRule \
  --source-addresses '10.30.4.5' \
  --protocols Https=443 \
  --target-fqdns 'md-q7w2e9r4t1y3.z11.blob.storage.azure.net'

# Docker Hub
# source: docker/docs allow-list (PRs #21867, #22247, #25122)
# docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com is not in the log: it usually comes with Docker Hub
# production.cloudflare.docker.com is not in the log: it usually comes with Docker Hub
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-docker-hub-https' --collection-priority 130 --action Allow \
  --rule-name 'docker-hub-https' --rule-type ApplicationRule \
  --source-addresses '10.30.4.5' '10.30.4.6' '10.30.4.8' \
  --protocols Https=443 \
  --target-fqdns 'auth.docker.io' 'docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com' 'production.cloudflare.docker.com' 'registry-1.docker.io'

# Go modules (module proxy and checksum database)
# source: Go 1.13 release notes (GOPROXY=https://proxy.golang.org,direct; GOSUMDB=sum.golang.org)
# sum.golang.org is not in the log: it usually comes with Go modules (module proxy and checksum database)
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-go-modules-https' --collection-priority 140 --action Allow \
  --rule-name 'go-modules-https' --rule-type ApplicationRule \
  --source-addresses '10.50.2.9' \
  --protocols Https=443 \
  --target-fqdns 'proxy.golang.org' 'sum.golang.org'

# Kudu (App Service / Functions deployment engine)
# source: field report of an App Service deployment behind Azure Firewall failing with HTTP 500 (Qiita, 2023-04-22); related: MicrosoftDocs/azure-docs#109558, projectkudu/kudu#3148
# contoso-build.azurewebsites.net is not in the log: it usually comes with Kudu (App Service / Functions deployment engine)
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-kudu-https' --collection-priority 150 --action Allow \
  --rule-name 'kudu-https' --rule-type ApplicationRule \
  --source-addresses '10.20.2.254' \
  --protocols Https=443 \
  --target-fqdns 'contoso-build.azurewebsites.net' 'contoso-build.scm.azurewebsites.net'

# Microsoft Container Registry
# source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf
# mcr-0001.mcr-msedge.net is not in the log: it usually comes with Microsoft Container Registry
# mcr.microsoft.com is not in the log: it usually comes with Microsoft Container Registry
# data.mcr.microsoft.com added: *.data.mcr.microsoft.com does not match data.mcr.microsoft.com itself
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-mcr-https' --collection-priority 160 --action Allow \
  --rule-name 'mcr-https' --rule-type ApplicationRule \
  --source-addresses '10.50.2.8' \
  --protocols Https=443 \
  --target-fqdns '*.data.mcr.microsoft.com' 'data.mcr.microsoft.com' 'mcr-0001.mcr-msedge.net' 'mcr.microsoft.com'

# NuGet
# source: learn.microsoft.com/nuget/api/overview (service index https://api.nuget.org/v3/index.json); githubnext/gh-aw ecosystem_domains.json@35f222ac
# globalcdn.nuget.org is not in the log: it usually comes with NuGet
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-nuget-https' --collection-priority 170 --action Allow \
  --rule-name 'nuget-https' --rule-type ApplicationRule \
  --source-addresses '10.60.1.4' \
  --protocols Https=443 \
  --target-fqdns 'api.nuget.org' 'globalcdn.nuget.org'

# Oryx (App Service build engine on Linux)
# source: microsoft/Oryx doc/hosts/appservice.md "Network Dependencies"@7ee796df; microsoft/Oryx#2260, #557
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-oryx-https' --collection-priority 180 --action Allow \
  --rule-name 'oryx-https' --rule-type ApplicationRule \
  --source-addresses '10.20.3.17' \
  --protocols Https=443 \
  --target-fqdns 'oryx-cdn.microsoft.io'

# pip (PyPI)
# source: PyPI simple API (https://pypi.org/simple/, files on files.pythonhosted.org); microsoft/Oryx#2260
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-pypi-https' --collection-priority 190 --action Allow \
  --rule-name 'pypi-https' --rule-type ApplicationRule \
  --source-addresses '10.20.3.17' '10.80.2.182' \
  --protocols Https=443 \
  --target-fqdns 'files.pythonhosted.org' 'pypi.org'

# Certificate revocation (OCSP and CRL)
# source: MicrosoftDocs/azure-docs app-service/environment/firewall-integration.md@4c3232ad; Azure/bicep-ptn-aiml-landing-zone#42
# crl3.digicert.com is not in the log: it usually comes with Certificate revocation (OCSP and CRL)
# crl4.digicert.com is not in the log: it usually comes with Certificate revocation (OCSP and CRL)
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-revocation-http' --collection-priority 200 --action Allow \
  --rule-name 'revocation-http' --rule-type ApplicationRule \
  --source-addresses '10.20.3.17' \
  --protocols Http=80 \
  --target-fqdns 'crl3.digicert.com' 'crl4.digicert.com' 'ocsp.digicert.com'

# Windows Update
# source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf (Windows); MicrosoftDocs/azure-docs articles/firewall/fqdn-tags.md
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-windows-update-http' --collection-priority 210 --action Allow \
  --rule-name 'windows-update-http' --rule-type ApplicationRule \
  --source-addresses '10.20.4.9' \
  --protocols Http=80 \
  --target-fqdns 'dl.delivery.windowsupdate.com'

# no service in kensa's catalog
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-other-http' --collection-priority 220 --action Allow \
  --rule-name 'other-http' --rule-type ApplicationRule \
  --source-addresses '10.70.1.20' \
  --protocols Http=80 \
  --target-fqdns 'deb.example.org'

# no service in kensa's catalog
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-other-https' --collection-priority 230 --action Allow \
  --rule-name 'other-https' --rule-type ApplicationRule \
  --source-addresses '10.70.1.20' '10.70.1.23' \
  --protocols Https=443 \
  --target-fqdns 'watson.telemetry.example.com'

# no service in kensa's catalog
az network firewall policy rule-collection-group collection add-filter-collection \
  --resource-group "$RG" --policy-name "$POLICY" --rule-collection-group-name "$RCG" \
  --name 'kensa-other-icmp-any' --collection-priority 240 --action Allow \
  --rule-name 'other-icmp-any' --rule-type NetworkRule \
  --source-addresses '10.20.5.7' '10.20.5.9' '10.30.4.7' \
  --ip-protocols ICMP --destination-ports '*' \
  --destination-addresses '192.0.2.45' '192.0.2.49' '203.0.113.60'
