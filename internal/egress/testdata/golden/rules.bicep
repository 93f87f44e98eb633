// Azure Firewall Policy rules that allow the destinations kensa found denied
// (kensa egress analyze). Review them before applying: each rule names the
// sources seen in the logs; a subnet may suit you better (--source).
// Not allowed: 10.20.0.4:2323: every source is a public address: inbound traffic, not egress
// Not allowed: agent.westeurope.build.example.net:443: the firewall could not resolve the name: fix DNS (DNS proxy, private DNS zone), not the rules
// Not allowed: db.internal.example: the firewall could not resolve the name: fix DNS (DNS proxy, private DNS zone), not the rules
// Not allowed: 203.0.113.80:8080: denied by a rule of your own: change that rule if the deployment needs it
// Not allowed: 203.0.113.91: denied by a rule of your own: change that rule if the deployment needs it
// Not allowed: telemetry.example.org:443: denied by a rule of your own: change that rule if the deployment needs it
// Not allowed: 198.51.100.23:443: denied by threat intelligence: investigate, do not allow
// Not allowed: 198.51.100.77:443: dropped by an IDPS signature: investigate, do not allow
// Not allowed: 203.0.113.135:80: dropped by an IDPS signature: investigate, do not allow
// Not allowed: ocsp.badca.example.net:80: denied by threat intelligence: investigate, do not allow

@description('Name of the existing firewall policy')
param firewallPolicyName string

@description('Name of the rule collection group to create: a new one. Deploying over an existing group replaces all its rule collections.')
param ruleCollectionGroupName string = 'kensa-egress'

@minValue(100)
@maxValue(65000)
param priority int = 300

resource firewallPolicy 'Microsoft.Network/firewallPolicies@2023-11-01' existing = {
  name: firewallPolicyName
}

resource egressRules 'Microsoft.Network/firewallPolicies/ruleCollectionGroups@2023-11-01' = {
  parent: firewallPolicy
  name: ruleCollectionGroupName
  properties: {
    priority: priority
    ruleCollections: [
      // AKS (cluster egress)
      // source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf; Azure/AKS#4792
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-aks-udp-1194'
        priority: 100
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'aks-udp-1194'
            ipProtocols: [
              'UDP'
            ]
            sourceAddresses: [
              '10.50.3.4'
            ]
            destinationAddresses: [
              '203.0.113.90'
            ]
            destinationPorts: [
              '1194'
            ]
          }
        ]
      }
      // App Service content share (Azure Files over SMB)
      // source: MicrosoftDocs/azure-docs articles/app-service/configure-vnet-integration-routing.md@972fa580
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-app-service-content-share-tcp-445'
        priority: 110
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'app-service-content-share-tcp-445'
            ipProtocols: [
              'TCP'
            ]
            sourceAddresses: [
              '10.20.5.7'
              '10.60.1.4'
            ]
            destinationAddresses: [
              '192.0.2.46'
              '203.0.113.100'
            ]
            destinationPorts: [
              '445'
            ]
          }
        ]
      }
      // Azure Storage account
      // source: MicrosoftDocs/azure-docs app-service/environment/firewall-integration.md@4c3232ad (service endpoint dependencies)
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-azure-storage-https'
        priority: 120
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'azure-storage-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.30.4.5'
            ]
            targetFqdns: [
              'md-q7w2e9r4t1y3.z11.blob.storage.azure.net'
            ]
          }
        ]
      }
      // Docker Hub
      // source: docker/docs allow-list (PRs #21867, #22247, #25122)
      // docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com is not in the log: it usually comes with Docker Hub
      // production.cloudflare.docker.com is not in the log: it usually comes with Docker Hub
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-docker-hub-https'
        priority: 130
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'docker-hub-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.30.4.5'
              '10.30.4.6'
              '10.30.4.8'
            ]
            targetFqdns: [
              'auth.docker.io'
              'docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com'
              'production.cloudflare.docker.com'
              'registry-1.docker.io'
            ]
          }
        ]
      }
      // Go modules (module proxy and checksum database)
      // source: Go 1.13 release notes (GOPROXY=https://proxy.golang.org,direct; GOSUMDB=sum.golang.org)
      // sum.golang.org is not in the log: it usually comes with Go modules (module proxy and checksum database)
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-go-modules-https'
        priority: 140
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'go-modules-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.50.2.9'
            ]
            targetFqdns: [
              'proxy.golang.org'
              'sum.golang.org'
            ]
          }
        ]
      }
      // Kudu (App Service / Functions deployment engine)
      // source: field report of an App Service deployment behind Azure Firewall failing with HTTP 500 (Qiita, 2023-04-22); related: MicrosoftDocs/azure-docs#109558, projectkudu/kudu#3148
      // contoso-build.azurewebsites.net is not in the log: it usually comes with Kudu (App Service / Functions deployment engine)
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-kudu-https'
        priority: 150
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'kudu-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.20.2.254'
            ]
            targetFqdns: [
              'contoso-build.azurewebsites.net'
              'contoso-build.scm.azurewebsites.net'
            ]
          }
        ]
      }
      // Microsoft Container Registry
      // source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf
      // mcr-0001.mcr-msedge.net is not in the log: it usually comes with Microsoft Container Registry
      // mcr.microsoft.com is not in the log: it usually comes with Microsoft Container Registry
      // data.mcr.microsoft.com added: *.data.mcr.microsoft.com does not match data.mcr.microsoft.com itself
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-mcr-https'
        priority: 160
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'mcr-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.50.2.8'
            ]
            targetFqdns: [
              '*.data.mcr.microsoft.com'
              'data.mcr.microsoft.com'
              'mcr-0001.mcr-msedge.net'
              'mcr.microsoft.com'
            ]
          }
        ]
      }
      // NuGet
      // source: learn.microsoft.com/nuget/api/overview (service index https://api.nuget.org/v3/index.json); githubnext/gh-aw ecosystem_domains.json@35f222ac
      // globalcdn.nuget.org is not in the log: it usually comes with NuGet
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-nuget-https'
        priority: 170
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'nuget-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.60.1.4'
            ]
            targetFqdns: [
              'api.nuget.org'
              'globalcdn.nuget.org'
            ]
          }
        ]
      }
      // Oryx (App Service build engine on Linux)
      // source: microsoft/Oryx doc/hosts/appservice.md "Network Dependencies"@7ee796df; microsoft/Oryx#2260, #557
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-oryx-https'
        priority: 180
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'oryx-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.20.3.17'
            ]
            targetFqdns: [
              'oryx-cdn.microsoft.io'
            ]
          }
        ]
      }
      // pip (PyPI)
      // source: PyPI simple API (https://pypi.org/simple/, files on files.pythonhosted.org); microsoft/Oryx#2260
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-pypi-https'
        priority: 190
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'pypi-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.20.3.17'
              '10.80.2.182'
            ]
            targetFqdns: [
              'files.pythonhosted.org'
              'pypi.org'
            ]
          }
        ]
      }
      // Certificate revocation (OCSP and CRL)
      // source: MicrosoftDocs/azure-docs app-service/environment/firewall-integration.md@4c3232ad; Azure/bicep-ptn-aiml-landing-zone#42
      // crl3.digicert.com is not in the log: it usually comes with Certificate revocation (OCSP and CRL)
      // crl4.digicert.com is not in the log: it usually comes with Certificate revocation (OCSP and CRL)
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-revocation-http'
        priority: 200
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'revocation-http'
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            sourceAddresses: [
              '10.20.3.17'
            ]
            targetFqdns: [
              'crl3.digicert.com'
              'crl4.digicert.com'
              'ocsp.digicert.com'
            ]
          }
        ]
      }
      // Windows Update
      // source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf (Windows); MicrosoftDocs/azure-docs articles/firewall/fqdn-tags.md
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-windows-update-http'
        priority: 210
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'windows-update-http'
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            sourceAddresses: [
              '10.20.4.9'
            ]
            targetFqdns: [
              'dl.delivery.windowsupdate.com'
            ]
          }
        ]
      }
      // no service in kensa's catalog
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-other-http'
        priority: 220
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'other-http'
            protocols: [
              {
                protocolType: 'Http'
                port: 80
              }
            ]
            sourceAddresses: [
              '10.70.1.20'
            ]
            targetFqdns: [
              'deb.example.org'
            ]
          }
        ]
      }
      // no service in kensa's catalog
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-other-https'
        priority: 230
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'ApplicationRule'
            name: 'other-https'
            protocols: [
              {
                protocolType: 'Https'
                port: 443
              }
            ]
            sourceAddresses: [
              '10.70.1.20'
              '10.70.1.23'
            ]
            targetFqdns: [
              'watson.telemetry.example.com'
            ]
          }
        ]
      }
      // no service in kensa's catalog
      {
        ruleCollectionType: 'FirewallPolicyFilterRuleCollection'
        name: 'kensa-other-icmp-any'
        priority: 240
        action: {
          type: 'Allow'
        }
        rules: [
          {
            ruleType: 'NetworkRule'
            name: 'other-icmp-any'
            ipProtocols: [
              'ICMP'
            ]
            sourceAddresses: [
              '10.20.5.7'
              '10.20.5.9'
              '10.30.4.7'
            ]
            destinationAddresses: [
              '192.0.2.45'
              '192.0.2.49'
              '203.0.113.60'
            ]
            destinationPorts: [
              '*'
            ]
          }
        ]
      }
    ]
  }
}
