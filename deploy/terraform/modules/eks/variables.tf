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
  description = "Whether the API server endpoint is reachable from the internet (restricted by endpoint_public_access_cidrs)."
  type        = bool
  default     = false
}

variable "endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public API endpoint when it is enabled."
  type        = list(string)
  default     = []
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
  description = "Extra IRSA roles for workloads: name => { namespace, service_account, policy_json }."
  type = map(object({
    namespace       = string
    service_account = string
    policy_json     = string
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
