output "carts_table_name" {
  description = "Name of the carts table (dynamodb.carts_table)."
  value       = aws_dynamodb_table.this["carts"].name
}

output "sessions_table_name" {
  description = "Name of the sessions table (dynamodb.sessions_table)."
  value       = aws_dynamodb_table.this["sessions"].name
}

output "table_names" {
  description = "Every table name, for throttle alarms."
  value       = [for t in aws_dynamodb_table.this : t.name]
}

output "table_arns" {
  description = "ARN of each table by id (carts, sessions), for the workloads' IAM policies."
  value       = { for id, t in aws_dynamodb_table.this : id => t.arn }
}

output "key_schemas" {
  description = "Hash key, key type and TTL attribute of each table by id, as created."
  value = { for id, t in aws_dynamodb_table.this : id => {
    hash_key      = t.hash_key
    key_type      = one([for a in t.attribute : a.type if a.name == t.hash_key])
    ttl_attribute = length(t.ttl) == 0 ? null : t.ttl[0].attribute_name
  } }
}
