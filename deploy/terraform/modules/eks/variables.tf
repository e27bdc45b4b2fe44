variable "cluster_name" {
  description = "Name of the EKS cluster; also the prefix of its IAM roles."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane (the manifests need >= 1.30 for the preStop sleep action)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (one per AZ) for the control plane ENIs and the nodes."
  type        = list(string)
}

variable "endpoint_public_access" {
  description = "Explicit choice: true = the API endpoint is public but only for endpoint_public_access_cidrs (admins' VPN/office egress); false = private only, reachable from inside the VPC (a bastion, VPN or CI runner in the VPC). The private endpoint is always on for the nodes."
  type        = bool
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint (required, and never 0.0.0.0/0, when it is public)."
  type        = list(string)
  default     = []

  validation {
    condition     = !var.endpoint_public_access || (length(var.endpoint_public_access_cidrs) > 0 && !contains(var.endpoint_public_access_cidrs, "0.0.0.0/0"))
    error_message = "With endpoint_public_access = true, list the admin CIDRs in endpoint_public_access_cidrs (not 0.0.0.0/0)."
  }
}

variable "node_groups" {
  description = "Managed node groups by name. min_size/max_size bound the Cluster Autoscaler."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    max_size       = number
    disk_size_gb   = number
    labels         = map(string)
  }))

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.min_size >= 1 && g.max_size >= g.min_size])
    error_message = "Every node group needs min_size >= 1 and max_size >= min_size."
  }
}

variable "workload_roles" {
  description = "Extra IRSA roles for workloads: name => { namespace, service_account, policy_json, has_policy }; has_policy = false (a workload that calls no AWS API) creates the role without an inline policy."
  type = map(object({
    namespace       = string
    service_account = string
    policy_json     = string
    has_policy      = bool
  }))
  default = {}
}

variable "log_group_arn" {
  description = "ARN of the CloudWatch Logs group that Fluent Bit ships application logs to."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "admin_role_arns" {
  description = "IAM roles given cluster admin through EKS access entries (the only way in: the creator gets no implicit admin)."
  type        = list(string)

  validation {
    condition     = length(var.admin_role_arns) > 0 && alltrue([for a in var.admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/", a))])
    error_message = "admin_role_arns needs at least one IAM role ARN (arn:aws:iam::<account>:role/<name>); without one nobody can run kubectl."
  }
}

variable "vpc_cni_version" {
  description = "Version of the vpc-cni add-on (null: the default for the cluster version); must support enableNetworkPolicy (v1.14+)."
  type        = string
  default     = null
}

variable "storefront_secret_arn" {
  description = "ARN of the one Secrets Manager secret the storefront's SecretStore (IRSA role storefront-secrets) may read."
  type        = string
}
