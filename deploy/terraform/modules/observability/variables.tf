variable "name" {
  description = "Environment name prefix of the topic, log group and alarms, e.g. crest-production."
  type        = string
}

variable "alarm_emails" {
  description = "E-mail addresses subscribed to the alarm topic (each must confirm)."
  type        = list(string)
  default     = []
}

variable "log_retention_days" {
  description = "Retention of the application log group."
  type        = number
  default     = 30
}

variable "alb_arn_suffix" {
  description = "ARN suffix (app/<name>/<id>) of the ALB the Ingress created; empty until it exists, which skips the ALB alarms."
  type        = string
  default     = ""
}

variable "p99_latency_threshold_seconds" {
  description = "p99 target response time that pages."
  type        = number
  default     = 0.5
}

variable "error_rate_threshold_percent" {
  description = "Share of 5xx responses, in percent, that pages."
  type        = number
  default     = 1
}

variable "rds_primary_identifier" {
  description = "Identifier of the RDS primary."
  type        = string
}

variable "primary_cpu_threshold_percent" {
  description = "Primary database CPU that pages."
  type        = number
  default     = 80
}

variable "rds_replica_identifiers" {
  description = "Identifiers of the read replicas to watch for lag."
  type        = list(string)
}

variable "replica_lag_threshold_seconds" {
  description = "Replica lag that pages; keep it at or below the services' replica lag bound."
  type        = number
  default     = 5
}

variable "queue_name" {
  description = "Name of the orders queue."
  type        = string
}

variable "queue_age_threshold_seconds" {
  description = "Age of the oldest order message that pages."
  type        = number
  default     = 120
}

variable "dlq_name" {
  description = "Name of the orders dead-letter queue."
  type        = string
}

variable "dynamodb_table_names" {
  description = "DynamoDB tables watched for throttling."
  type        = list(string)
}

variable "tags" {
  description = "Tags applied to every resource."
  type        = map(string)
  default     = {}
}
