output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "irsa_role_arns" {
  description = "IRSA role ARNs; the k8s overlay's ServiceAccount annotations must match."
  value       = module.eks.irsa_role_arns
}

output "db_primary_endpoint" {
  description = "RDS primary endpoint (db.primary_url)."
  value       = module.rds.primary_endpoint
}

output "db_replica_endpoints" {
  description = "RDS replica endpoints (db.replica_urls)."
  value       = module.rds.replica_endpoints
}

output "db_master_secret_arn" {
  description = "Secrets Manager ARN of the RDS master credentials."
  value       = module.rds.master_user_secret_arn
}

output "redis_endpoint" {
  description = "Redis primary endpoint (redis.url)."
  value       = module.elasticache.primary_endpoint
}

output "redis_auth_secret_arn" {
  description = "Secrets Manager ARN of the Redis AUTH token."
  value       = module.elasticache.auth_secret_arn
}

output "carts_table" {
  description = "DynamoDB carts table (dynamodb.carts_table)."
  value       = module.dynamodb.carts_table_name
}

output "sessions_table" {
  description = "DynamoDB sessions table (dynamodb.sessions_table)."
  value       = module.dynamodb.sessions_table_name
}

output "orders_queue_url" {
  description = "SQS orders queue URL (sqs.orders_queue_url)."
  value       = module.sqs.queue_url
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.observability.alarm_topic_arn
}

output "application_log_group" {
  description = "CloudWatch Logs group of the services' logs."
  value       = module.observability.application_log_group_name
}

output "ec2_tier_alb_dns_name" {
  description = "DNS name of the EC2 tier's ALB."
  value       = module.ec2_tier.alb_dns_name
}

output "ecr_repository_urls" {
  description = "ECR repository URL per image (storefront, crest); the overlays' images name them."
  value       = { for k, r in aws_ecr_repository.this : k => r.repository_url }
}

output "storefront_secret_arn" {
  description = "Secrets Manager secret holding the storefront's connection URLs (written by the migration step)."
  value       = aws_secretsmanager_secret.storefront.arn
}

output "storefront_settings" {
  description = "Non-secret storefront settings (CREST_* variables) of this environment."
  value       = local.storefront_settings
}
