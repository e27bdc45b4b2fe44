variable "name" {
  description = "Name of the tier: ASG, ALB, target group and IAM role names."
  type        = string
}

variable "environment" {
  description = "Environment name passed to the instances (staging or production)."
  type        = string
}

variable "role" {
  description = "Storefront role the instances run (users, catalog, cart, orders, worker, all)."
  type        = string

  validation {
    condition     = contains(["users", "catalog", "cart", "orders", "worker", "all"], var.role)
    error_message = "role must be one of users, catalog, cart, orders, worker, all."
  }
}

variable "image" {
  description = "Storefront container image (ECR URI with tag)."
  type        = string
}

variable "port" {
  description = "Port the storefront listens on (http.port)."
  type        = number
  default     = 8080
}

variable "drain_grace_seconds" {
  description = "http.drain_grace of the process; the target group's deregistration delay must exceed it."
  type        = number
  default     = 10
}

variable "deregistration_delay_seconds" {
  description = "Seconds the ALB keeps draining a deregistered instance; above drain_grace_seconds."
  type        = number
  default     = 20
}

variable "ami_ssm_parameter" {
  description = "Public SSM parameter holding the AMI ID (Debian 12 by default)."
  type        = string
  default     = "/aws/service/debian/release/bookworm/latest/amd64"
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
}

variable "min_size" {
  description = "Minimum instances; at least 2 so one AZ or instance can fail."
  type        = number

  validation {
    condition     = var.min_size >= 2
    error_message = "min_size must be at least 2."
  }
}

variable "max_size" {
  description = "Maximum instances target tracking may scale out to."
  type        = number
}

variable "target_cpu_percent" {
  description = "Average CPU utilisation target tracking holds."
  type        = number
  default     = 50
}

variable "target_requests_per_target" {
  description = "ALB requests per target per minute that target tracking holds."
  type        = number
  default     = 3000
}

variable "stickiness_duration_seconds" {
  description = "Lifetime of the ALB stickiness cookie."
  type        = number
  default     = 3600
}

variable "certificate_arn" {
  description = "ACM certificate ARN of the HTTPS listener."
  type        = string
}

variable "internal" {
  description = "Whether the ALB is internal."
  type        = bool
  default     = false
}

variable "allowed_cidrs" {
  description = "CIDRs allowed to reach the ALB on 443."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "vpc_id" {
  description = "VPC of the tier."
  type        = string
}

variable "alb_subnet_ids" {
  description = "Subnets of the ALB (public unless internal)."
  type        = list(string)
}

variable "instance_subnet_ids" {
  description = "Private subnets of the instances, one per AZ."
  type        = list(string)
}

variable "extra_security_group_ids" {
  description = "Extra security groups for the instances."
  type        = list(string)
  default     = []
}

variable "instance_policy_json" {
  description = "IAM policy document for the application on the instances (DynamoDB, SQS); empty for none."
  type        = string
  default     = ""
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}

variable "settings" {
  description = "Storefront settings (CREST_* environment variables) written to /etc/crest.env at boot."
  type        = map(string)
}

variable "settings_secret_arn" {
  description = "Secrets Manager secret (a JSON object of CREST_* variables: database and Redis URLs) read at boot into /etc/crest.env."
  type        = string
}
