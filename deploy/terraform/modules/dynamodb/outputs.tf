output "carts_table_name" {
  description = "Name of the carts table (dynamodb.carts_table)."
  value       = aws_dynamodb_table.carts.name
}

output "sessions_table_name" {
  description = "Name of the sessions table (dynamodb.sessions_table)."
  value       = aws_dynamodb_table.sessions.name
}

output "table_names" {
  description = "Both table names, for throttle alarms."
  value       = [aws_dynamodb_table.carts.name, aws_dynamodb_table.sessions.name]
}

output "table_arns" {
  description = "ARNs of both tables, for the workloads' IAM policies."
  value       = { carts = aws_dynamodb_table.carts.arn, sessions = aws_dynamodb_table.sessions.arn }
}
