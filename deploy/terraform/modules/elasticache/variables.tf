variable "name" {
  description = "Replication group ID and name prefix."
  type        = string
}

variable "engine_version" {
  description = "Redis engine version, e.g. 7.1."
  type        = string
  default     = "7.1"
}

variable "parameter_group_family" {
  description = "ElastiCache parameter group family matching engine_version, e.g. redis7."
  type        = string
  default     = "redis7"
}

variable "node_type" {
  description = "Cache node type."
  type        = string
}

variable "num_cache_clusters" {
  description = "Nodes in the replication group (one primary, the rest replicas); Multi-AZ failover needs at least 2."
  type        = number

  validation {
    condition     = var.num_cache_clusters >= 2
    error_message = "Multi-AZ with automatic failover needs num_cache_clusters >= 2."
  }
}

variable "snapshot_retention_days" {
  description = "Days of automatic snapshots (0 disables them)."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Retention of the Redis slow log in CloudWatch Logs."
  type        = number
  default     = 14
}

variable "vpc_id" {
  description = "VPC of the cache security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the cache subnet group (one per AZ)."
  type        = list(string)
}

variable "allowed_security_groups" {
  description = "Security groups allowed to connect, by a static name known at plan (e.g. { eks = <id>, ec2_tier = <id> })."
  type        = map(string)
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
