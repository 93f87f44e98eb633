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

variable "firewall_policy_id" {
  type        = string
  description = "ID of the existing firewall policy"
}

variable "rule_collection_group_name" {
  type    = string
  default = "kensa-egress"
}

variable "priority" {
  type    = number
  default = 300
}

resource "azurerm_firewall_policy_rule_collection_group" "kensa_egress" {
  name               = var.rule_collection_group_name
  firewall_policy_id = var.firewall_policy_id
  priority           = var.priority

  # AKS (cluster egress)
  # source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf; Azure/AKS#4792
  network_rule_collection {
    name     = "kensa-aks-udp-1194"
    priority = 100
    action   = "Allow"
    rule {
      name                  = "aks-udp-1194"
      protocols             = ["UDP"]
      source_addresses      = ["10.50.3.4"]
      destination_addresses = ["203.0.113.90"]
      destination_ports     = ["1194"]
    }
  }

  # App Service content share (Azure Files over SMB)
  # source: MicrosoftDocs/azure-docs articles/app-service/configure-vnet-integration-routing.md@972fa580
  network_rule_collection {
    name     = "kensa-app-service-content-share-tcp-445"
    priority = 110
    action   = "Allow"
    rule {
      name                  = "app-service-content-share-tcp-445"
      protocols             = ["TCP"]
      source_addresses      = ["10.20.5.7", "10.60.1.4"]
      destination_addresses = ["192.0.2.46", "203.0.113.100"]
      destination_ports     = ["445"]
    }
  }

  # Azure Storage account
  # source: MicrosoftDocs/azure-docs app-service/environment/firewall-integration.md@4c3232ad (service endpoint dependencies)
  application_rule_collection {
    name     = "kensa-azure-storage-https"
    priority = 120
    action   = "Allow"
    rule {
      name = "azure-storage-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.30.4.5"]
      destination_fqdns = ["md-q7w2e9r4t1y3.z11.blob.storage.azure.net"]
    }
  }

  # Docker Hub
  # source: docker/docs allow-list (PRs #21867, #22247, #25122)
  # docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com is not in the log: it usually comes with Docker Hub
  # production.cloudflare.docker.com is not in the log: it usually comes with Docker Hub
  application_rule_collection {
    name     = "kensa-docker-hub-https"
    priority = 130
    action   = "Allow"
    rule {
      name = "docker-hub-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.30.4.5", "10.30.4.6", "10.30.4.8"]
      destination_fqdns = ["auth.docker.io", "docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com", "production.cloudflare.docker.com", "registry-1.docker.io"]
    }
  }

  # Go modules (module proxy and checksum database)
  # source: Go 1.13 release notes (GOPROXY=https://proxy.golang.org,direct; GOSUMDB=sum.golang.org)
  # sum.golang.org is not in the log: it usually comes with Go modules (module proxy and checksum database)
  application_rule_collection {
    name     = "kensa-go-modules-https"
    priority = 140
    action   = "Allow"
    rule {
      name = "go-modules-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.50.2.9"]
      destination_fqdns = ["proxy.golang.org", "sum.golang.org"]
    }
  }

  # Kudu (App Service / Functions deployment engine)
  # source: field report of an App Service deployment behind Azure Firewall failing with HTTP 500 (Qiita, 2023-04-22); related: MicrosoftDocs/azure-docs#109558, projectkudu/kudu#3148
  # contoso-build.azurewebsites.net is not in the log: it usually comes with Kudu (App Service / Functions deployment engine)
  application_rule_collection {
    name     = "kensa-kudu-https"
    priority = 150
    action   = "Allow"
    rule {
      name = "kudu-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.20.2.254"]
      destination_fqdns = ["contoso-build.azurewebsites.net", "contoso-build.scm.azurewebsites.net"]
    }
  }

  # Microsoft Container Registry
  # source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf
  # mcr-0001.mcr-msedge.net is not in the log: it usually comes with Microsoft Container Registry
  # mcr.microsoft.com is not in the log: it usually comes with Microsoft Container Registry
  # data.mcr.microsoft.com added: *.data.mcr.microsoft.com does not match data.mcr.microsoft.com itself
  application_rule_collection {
    name     = "kensa-mcr-https"
    priority = 160
    action   = "Allow"
    rule {
      name = "mcr-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.50.2.8"]
      destination_fqdns = ["*.data.mcr.microsoft.com", "data.mcr.microsoft.com", "mcr-0001.mcr-msedge.net", "mcr.microsoft.com"]
    }
  }

  # NuGet
  # source: learn.microsoft.com/nuget/api/overview (service index https://api.nuget.org/v3/index.json); githubnext/gh-aw ecosystem_domains.json@35f222ac
  # globalcdn.nuget.org is not in the log: it usually comes with NuGet
  application_rule_collection {
    name     = "kensa-nuget-https"
    priority = 170
    action   = "Allow"
    rule {
      name = "nuget-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.60.1.4"]
      destination_fqdns = ["api.nuget.org", "globalcdn.nuget.org"]
    }
  }

  # Oryx (App Service build engine on Linux)
  # source: microsoft/Oryx doc/hosts/appservice.md "Network Dependencies"@7ee796df; microsoft/Oryx#2260, #557
  application_rule_collection {
    name     = "kensa-oryx-https"
    priority = 180
    action   = "Allow"
    rule {
      name = "oryx-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.20.3.17"]
      destination_fqdns = ["oryx-cdn.microsoft.io"]
    }
  }

  # pip (PyPI)
  # source: PyPI simple API (https://pypi.org/simple/, files on files.pythonhosted.org); microsoft/Oryx#2260
  application_rule_collection {
    name     = "kensa-pypi-https"
    priority = 190
    action   = "Allow"
    rule {
      name = "pypi-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.20.3.17", "10.80.2.182"]
      destination_fqdns = ["files.pythonhosted.org", "pypi.org"]
    }
  }

  # Certificate revocation (OCSP and CRL)
  # source: MicrosoftDocs/azure-docs app-service/environment/firewall-integration.md@4c3232ad; Azure/bicep-ptn-aiml-landing-zone#42
  # crl3.digicert.com is not in the log: it usually comes with Certificate revocation (OCSP and CRL)
  # crl4.digicert.com is not in the log: it usually comes with Certificate revocation (OCSP and CRL)
  application_rule_collection {
    name     = "kensa-revocation-http"
    priority = 200
    action   = "Allow"
    rule {
      name = "revocation-http"
      protocols {
        type = "Http"
        port = 80
      }
      source_addresses  = ["10.20.3.17"]
      destination_fqdns = ["crl3.digicert.com", "crl4.digicert.com", "ocsp.digicert.com"]
    }
  }

  # Windows Update
  # source: MicrosoftDocs/azure-aks-docs articles/aks/outbound-rules-control-egress.md@a614c8bf (Windows); MicrosoftDocs/azure-docs articles/firewall/fqdn-tags.md
  application_rule_collection {
    name     = "kensa-windows-update-http"
    priority = 210
    action   = "Allow"
    rule {
      name = "windows-update-http"
      protocols {
        type = "Http"
        port = 80
      }
      source_addresses  = ["10.20.4.9"]
      destination_fqdns = ["dl.delivery.windowsupdate.com"]
    }
  }

  # no service in kensa's catalog
  application_rule_collection {
    name     = "kensa-other-http"
    priority = 220
    action   = "Allow"
    rule {
      name = "other-http"
      protocols {
        type = "Http"
        port = 80
      }
      source_addresses  = ["10.70.1.20"]
      destination_fqdns = ["deb.example.org"]
    }
  }

  # no service in kensa's catalog
  application_rule_collection {
    name     = "kensa-other-https"
    priority = 230
    action   = "Allow"
    rule {
      name = "other-https"
      protocols {
        type = "Https"
        port = 443
      }
      source_addresses  = ["10.70.1.20", "10.70.1.23"]
      destination_fqdns = ["watson.telemetry.example.com"]
    }
  }

  # no service in kensa's catalog
  network_rule_collection {
    name     = "kensa-other-icmp-any"
    priority = 240
    action   = "Allow"
    rule {
      name                  = "other-icmp-any"
      protocols             = ["ICMP"]
      source_addresses      = ["10.20.5.7", "10.20.5.9", "10.30.4.7"]
      destination_addresses = ["192.0.2.45", "192.0.2.49", "203.0.113.60"]
      destination_ports     = ["*"]
    }
  }
}
