output "alarm_topic_arn" {
  description = "ARN of the SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "application_log_group_name" {
  description = "CloudWatch Logs group of the services' JSON logs (Fluent Bit's destination)."
  value       = aws_cloudwatch_log_group.application.name
}

output "application_log_group_arn" {
  description = "ARN of the application log group."
  value       = aws_cloudwatch_log_group.application.arn
}

output "alarm_topic_kms_key_arn" {
  description = "KMS key encrypting the alarm topic (customer-managed, usable by CloudWatch)."
  value       = aws_sns_topic.alarms.kms_master_key_id
}
