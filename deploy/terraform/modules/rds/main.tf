# MySQL primary (writes, outbox) with N read replicas (catalog and order reads). Performance
# Insights on every instance; the slow query log goes to CloudWatch Logs.

locals {
  log_exports    = ["error", "slowquery"]
  replica_ids    = [for i in range(var.replica_count) : "${var.identifier}-replica-${i + 1}"]
  all_identifier = concat([var.identifier], local.replica_ids)
}

resource "aws_db_subnet_group" "this" {
  name       = var.identifier
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.identifier}-mysql"
  description = "MySQL access for ${var.identifier}"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "mysql" {
  # Keyed by the caller's static names ("eks", "ec2_tier"): the IDs are known only after apply,
  # and for_each keys must be known at plan.
  for_each = var.allowed_security_groups

  security_group_id            = aws_security_group.this.id
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
}

resource "aws_db_parameter_group" "this" {
  name   = var.identifier
  family = var.parameter_group_family

  parameter {
    name  = "slow_query_log"
    value = "1"
  }

  parameter {
    name  = "long_query_time"
    value = tostring(var.long_query_time_seconds)
  }

  parameter {
    name  = "log_output"
    value = "FILE"
  }

  # Top-queries dashboards read events_statements_summary_by_digest.
  parameter {
    name         = "performance_schema"
    value        = "1"
    apply_method = "pending-reboot"
  }

  tags = var.tags
}

# Created up front so retention is ours, not "never expire".
resource "aws_cloudwatch_log_group" "rds" {
  for_each = toset(flatten([for id in local.all_identifier : [for l in local.log_exports : "/aws/rds/instance/${id}/${l}"]]))

  name              = each.value
  retention_in_days = var.log_retention_days
  tags              = var.tags
}

resource "aws_iam_role" "monitoring" {
  name = "${var.identifier}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "primary" {
  identifier     = var.identifier
  engine         = "mysql"
  engine_version = var.engine_version
  instance_class = var.instance_class

  allocated_storage     = var.allocated_storage_gb
  max_allocated_storage = var.max_allocated_storage_gb
  storage_type          = "gp3"
  storage_encrypted     = true

  db_name  = var.database_name
  username = var.master_username
  # The password lives in Secrets Manager, rotated by RDS; nothing secret is in this code.
  manage_master_user_password = true

  multi_az               = var.multi_az
  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name

  backup_retention_period = var.backup_retention_days
  copy_tags_to_snapshot   = true
  deletion_protection     = var.deletion_protection
  skip_final_snapshot     = !var.deletion_protection

  final_snapshot_identifier = "${var.identifier}-final"

  performance_insights_enabled          = true
  performance_insights_retention_period = var.performance_insights_retention_days
  monitoring_interval                   = 15
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = local.log_exports
  auto_minor_version_upgrade            = true

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.rds]
}

resource "aws_db_instance" "replica" {
  count = var.replica_count

  identifier          = local.replica_ids[count.index]
  replicate_source_db = aws_db_instance.primary.identifier
  instance_class      = var.replica_instance_class
  storage_type        = "gp3"
  storage_encrypted   = true

  vpc_security_group_ids = [aws_security_group.this.id]
  parameter_group_name   = aws_db_parameter_group.this.name
  skip_final_snapshot    = true

  performance_insights_enabled          = true
  performance_insights_retention_period = var.performance_insights_retention_days
  monitoring_interval                   = 15
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports       = local.log_exports
  auto_minor_version_upgrade            = true

  tags       = var.tags
  depends_on = [aws_cloudwatch_log_group.rds]
}
