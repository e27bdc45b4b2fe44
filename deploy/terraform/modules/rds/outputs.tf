output "primary_endpoint" {
  description = "host:port of the primary (db.primary_url)."
  value       = aws_db_instance.primary.endpoint
}

output "replica_endpoints" {
  description = "host:port of each read replica (db.replica_urls)."
  value       = aws_db_instance.replica[*].endpoint
}

output "primary_identifier" {
  description = "Identifier of the primary instance."
  value       = aws_db_instance.primary.identifier
}

output "replica_identifiers" {
  description = "Identifiers of the read replicas, for replica lag alarms."
  value       = local.replica_ids
}

output "master_user_secret_arn" {
  description = "Secrets Manager ARN of the master credentials managed by RDS."
  value       = aws_db_instance.primary.master_user_secret[0].secret_arn
}

output "security_group_id" {
  description = "Security group of the database instances."
  value       = aws_security_group.this.id
}
