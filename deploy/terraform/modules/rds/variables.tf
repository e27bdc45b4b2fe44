variable "identifier" {
  description = "Identifier of the primary instance; replicas are <identifier>-replica-<n>."
  type        = string
}

variable "engine_version" {
  description = "MySQL engine version, e.g. 8.0.39."
  type        = string
}

variable "parameter_group_family" {
  description = "DB parameter group family matching engine_version, e.g. mysql8.0."
  type        = string
  default     = "mysql8.0"
}

variable "instance_class" {
  description = "Instance class of the primary."
  type        = string
}

variable "replica_instance_class" {
  description = "Instance class of each read replica."
  type        = string
}

variable "replica_count" {
  description = "Number of read replicas; catalog and order reads go to them, so at least one."
  type        = number

  validation {
    condition     = var.replica_count >= 1
    error_message = "replica_count must be at least 1: reads are routed to replicas."
  }
}

variable "allocated_storage_gb" {
  description = "Initial storage of the primary in GiB."
  type        = number
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "crest"
}

variable "master_username" {
  description = "Master user name; its password is generated and kept in Secrets Manager by RDS."
  type        = string
  default     = "crest_admin"
}

variable "multi_az" {
  description = "Run the primary as a Multi-AZ deployment (synchronous standby)."
  type        = bool
}

variable "long_query_time_seconds" {
  description = "Queries slower than this many seconds are written to the slow query log."
  type        = number
  default     = 0.2
}

variable "backup_retention_days" {
  description = "Days of automated backups; must be >= 1 for read replicas to exist."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1
    error_message = "Read replicas need automated backups (backup_retention_days >= 1)."
  }
}

variable "performance_insights_retention_days" {
  description = "Performance Insights retention in days (7 is the free tier)."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Retention of the exported error and slow query logs."
  type        = number
  default     = 30
}

variable "deletion_protection" {
  description = "Protect the primary from deletion and take a final snapshot on destroy."
  type        = bool
}

variable "vpc_id" {
  description = "VPC of the database security group."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets of the DB subnet group (one per AZ)."
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
