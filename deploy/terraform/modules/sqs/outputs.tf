output "queue_url" {
  description = "URL of the orders queue (sqs.orders_queue_url)."
  value       = aws_sqs_queue.this.id
}

output "queue_arn" {
  description = "ARN of the orders queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_name" {
  description = "Name of the orders queue, for alarms."
  value       = aws_sqs_queue.this.name
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.id
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_name" {
  description = "Name of the dead-letter queue, for the DLQ depth alarm."
  value       = aws_sqs_queue.dlq.name
}
