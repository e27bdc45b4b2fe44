variable "name" {
  description = "Name prefix for the VPC and its resources, e.g. crest-production."
  type        = string
}

variable "region" {
  description = "AWS region, used for the VPC gateway endpoints' service names."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC; public subnets take the first three /20s of a /16, private ones start at the ninth."
  type        = string
}

variable "az_count" {
  description = "Number of availability zones to span; the strategy needs at least three so one AZ can fail."
  type        = number
  default     = 3

  validation {
    condition     = var.az_count >= 3
    error_message = "az_count must be at least 3."
  }
}

variable "single_nat_gateway" {
  description = "Use one NAT gateway for all AZs (cheaper, staging only) instead of one per AZ."
  type        = bool
  default     = false
}

variable "cluster_name" {
  description = "EKS cluster name, tagged on subnets so the AWS Load Balancer Controller discovers them."
  type        = string
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
