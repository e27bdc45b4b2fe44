variable "environment" {
  description = "Environment name: staging or production."
  type        = string

  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "environment must be staging or production."
  }
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "vpc_cidr_block" {
  description = "CIDR block of the environment's VPC."
  type        = string
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway instead of one per AZ (cost saving for staging)."
  type        = bool
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version (>= 1.30)."
  type        = string
}

variable "eks_endpoint_public_access" {
  description = "Explicit endpoint choice (see modules/eks): true = public, only for eks_endpoint_public_access_cidrs; false = private only."
  type        = bool
}

variable "eks_admin_role_arns" {
  description = "IAM roles given cluster admin through EKS access entries."
  type        = list(string)
}

variable "image_tag" {
  description = "Tag of the storefront image the EC2 tier runs (the overlay's newTag)."
  type        = string
}

variable "eks_endpoint_public_access_cidrs" {
  description = "CIDRs allowed to reach the public EKS API endpoint."
  type        = list(string)
  default     = []
}

variable "node_groups" {
  description = "EKS managed node groups (instance types, capacity type, min/max for the Cluster Autoscaler)."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    max_size       = number
    disk_size_gb   = number
    labels         = map(string)
  }))
}

variable "mysql_engine_version" {
  description = "RDS MySQL engine version."
  type        = string
}

variable "db_instance_class" {
  description = "Instance class of the RDS primary."
  type        = string
}

variable "db_replica_instance_class" {
  description = "Instance class of the RDS read replicas."
  type        = string
}

variable "db_replica_count" {
  description = "Number of RDS read replicas (>= 1)."
  type        = number
}

variable "db_allocated_storage_gb" {
  description = "Initial RDS storage in GiB."
  type        = number
}

variable "db_max_allocated_storage_gb" {
  description = "RDS storage autoscaling ceiling in GiB."
  type        = number
}

variable "db_multi_az" {
  description = "Multi-AZ standby for the RDS primary."
  type        = bool
}

variable "deletion_protection" {
  description = "Deletion protection for the database and tables."
  type        = bool
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "redis_num_cache_clusters" {
  description = "Nodes in the Redis replication group (>= 2)."
  type        = number
}

variable "ec2_tier_role" {
  description = "Storefront role served by the EC2 Auto Scaling tier."
  type        = string
  default     = "catalog"
}

variable "ec2_tier_instance_type" {
  description = "Instance type of the EC2 tier."
  type        = string
}

variable "ec2_tier_min_size" {
  description = "Minimum instances of the EC2 tier."
  type        = number
}

variable "ec2_tier_max_size" {
  description = "Maximum instances of the EC2 tier."
  type        = number
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listeners."
  type        = string
}

variable "alb_arn_suffix" {
  description = "ARN suffix of the ALB created by the Ingress (empty on the first apply)."
  type        = string
  default     = ""
}

variable "p99_latency_threshold_seconds" {
  description = "p99 latency that pages."
  type        = number
}

variable "alarm_emails" {
  description = "E-mail addresses notified by the alarms."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the application logs in CloudWatch Logs."
  type        = number
}
