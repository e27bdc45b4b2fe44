terraform {
  # 1.9+: variable validations that refer to other variables (modules/eks).
  required_version = ">= 1.9.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.80"
    }
  }

  # Only hashicorp/aws: passwords come from Secrets Manager, the EKS OIDC provider needs no
  # thumbprint. Partial configuration:
  # terraform init -backend-config=envs/<environment>.backend.hcl (see the .example files).
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      "app.kubernetes.io/part-of" = "crest"
      Environment                 = var.environment
      ManagedBy                   = "terraform"
    }
  }
}
