# The whole platform for one environment: one root module for every environment, which differ
# only in envs/<environment>.tfvars (and their state: envs/<environment>.backend.hcl).
#   terraform init -backend-config=envs/staging.backend.hcl
#   terraform apply -var-file=envs/staging.tfvars

locals {
  name = "crest-${var.environment}"
  tags = { Project = "crest", Environment = var.environment }

  # Least-privilege access of each storefront ServiceAccount (IRSA), namespace "crest": exactly the
  # actions each role's code calls, on the resources it calls them on (deploy/tests read both the
  # C++ sources and this map, and require them to agree, role by role). catalog calls no AWS API:
  # its role has no permissions.
  workload_policies = {
    users = {
      Version = "2012-10-17"
      Statement = [{
        Effect   = "Allow"
        Action   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
        Resource = [module.dynamodb.table_arns.sessions]
      }]
    }
    catalog = {
      Version   = "2012-10-17"
      Statement = []
    }
    cart = {
      Version = "2012-10-17"
      Statement = [
        {
          Effect   = "Allow"
          Action   = ["dynamodb:GetItem"]
          Resource = [module.dynamodb.table_arns.carts, module.dynamodb.table_arns.sessions]
        },
        {
          Effect   = "Allow"
          Action   = ["dynamodb:UpdateItem"]
          Resource = [module.dynamodb.table_arns.carts]
        },
      ]
    }
    orders = {
      Version = "2012-10-17"
      Statement = [
        {
          Effect   = "Allow"
          Action   = ["dynamodb:GetItem"]
          Resource = [module.dynamodb.table_arns.carts, module.dynamodb.table_arns.sessions]
        },
        {
          # Checkout claims the cart's lines and gives them back or drops them.
          Effect   = "Allow"
          Action   = ["dynamodb:UpdateItem"]
          Resource = [module.dynamodb.table_arns.carts]
        },
        {
          # The outbox relay (SendMessageBatch is authorised as SendMessage).
          Effect   = "Allow"
          Action   = ["sqs:SendMessage"]
          Resource = [module.sqs.queue_arn]
        },
      ]
    }
    worker = {
      Version = "2012-10-17"
      Statement = [
        {
          Effect   = "Allow"
          Action   = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility", "sqs:GetQueueAttributes"]
          Resource = [module.sqs.queue_arn]
        },
        {
          # Depth of the dead-letter queue, for the queue gauges.
          Effect   = "Allow"
          Action   = ["sqs:GetQueueAttributes"]
          Resource = [module.sqs.dlq_arn]
        },
      ]
    }
  }
}

module "network" {
  source = "./modules/network"

  name               = local.name
  region             = var.region
  cidr_block         = var.vpc_cidr_block
  az_count           = 3
  single_nat_gateway = var.single_nat_gateway
  cluster_name       = local.name
  tags               = local.tags
}

module "observability" {
  source = "./modules/observability"

  name                          = local.name
  alarm_emails                  = var.alarm_emails
  log_retention_days            = var.log_retention_days
  alb_arn_suffix                = var.alb_arn_suffix
  p99_latency_threshold_seconds = var.p99_latency_threshold_seconds
  rds_primary_identifier        = module.rds.primary_identifier
  rds_replica_identifiers       = module.rds.replica_identifiers
  queue_name                    = module.sqs.queue_name
  dlq_name                      = module.sqs.dlq_name
  dynamodb_table_names          = module.dynamodb.table_names
  tags                          = local.tags
}

module "eks" {
  source = "./modules/eks"

  cluster_name                 = local.name
  kubernetes_version           = var.kubernetes_version
  private_subnet_ids           = module.network.private_subnet_ids
  endpoint_public_access       = var.eks_endpoint_public_access
  endpoint_public_access_cidrs = var.eks_endpoint_public_access_cidrs
  admin_role_arns              = var.eks_admin_role_arns
  storefront_secret_arn        = aws_secretsmanager_secret.storefront.arn
  node_groups                  = var.node_groups
  log_group_arn                = module.observability.application_log_group_arn
  tags                         = local.tags

  workload_roles = {
    for svc, policy in local.workload_policies : svc => {
      namespace       = "crest"
      service_account = svc
      policy_json     = jsonencode(policy)
      has_policy      = length(policy.Statement) > 0
    }
  }
}

module "rds" {
  source = "./modules/rds"

  identifier               = "${local.name}-mysql"
  engine_version           = var.mysql_engine_version
  instance_class           = var.db_instance_class
  replica_instance_class   = var.db_replica_instance_class
  replica_count            = var.db_replica_count
  allocated_storage_gb     = var.db_allocated_storage_gb
  max_allocated_storage_gb = var.db_max_allocated_storage_gb
  multi_az                 = var.db_multi_az
  deletion_protection      = var.deletion_protection
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.private_subnet_ids
  allowed_security_groups  = { eks = module.eks.cluster_security_group_id, ec2_tier = module.ec2_tier.instance_security_group_id }
  tags                     = local.tags
}

module "dynamodb" {
  source = "./modules/dynamodb"

  name_prefix         = local.name
  deletion_protection = var.deletion_protection
  tags                = local.tags
}

module "elasticache" {
  source = "./modules/elasticache"

  name                    = "${local.name}-redis"
  node_type               = var.redis_node_type
  num_cache_clusters      = var.redis_num_cache_clusters
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  allowed_security_groups = { eks = module.eks.cluster_security_group_id, ec2_tier = module.ec2_tier.instance_security_group_id }
  tags                    = local.tags
}

module "sqs" {
  source = "./modules/sqs"

  name              = "${local.name}-orders"
  max_receive_count = 5
  tags              = local.tags
}

module "ec2_tier" {
  source = "./modules/asg"

  name                = "${local.name}-${var.ec2_tier_role}-ec2"
  environment         = var.environment
  role                = var.ec2_tier_role
  image               = "${aws_ecr_repository.this["storefront"].repository_url}:${var.image_tag}"
  instance_type       = var.ec2_tier_instance_type
  min_size            = var.ec2_tier_min_size
  max_size            = var.ec2_tier_max_size
  certificate_arn     = var.certificate_arn
  vpc_id              = module.network.vpc_id
  alb_subnet_ids      = module.network.public_subnet_ids
  instance_subnet_ids = module.network.private_subnet_ids
  tags                = local.tags

  # The same backends as the pods: RDS (URLs from the storefront secret), DynamoDB, SQS, Redis.
  settings            = local.storefront_settings
  settings_secret_arn = aws_secretsmanager_secret.storefront.arn

  instance_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = concat(local.workload_policies[var.ec2_tier_role].Statement, [{
      Effect   = "Allow"
      Action   = ["secretsmanager:GetSecretValue"]
      Resource = [aws_secretsmanager_secret.storefront.arn]
    }])
  })
}

# What every storefront process is configured with, besides the secret: the same keys the
# Kubernetes overlays set in storefront.env (a test compares them).
locals {
  storefront_settings = {
    CREST_AWS_REGION              = var.region
    CREST_DB_BACKEND              = "mysql"
    CREST_READS                   = "replicas"
    CREST_CACHE                   = "redis"
    CREST_CHECKOUT                = "outbox"
    CREST_SESSIONS_BACKEND        = "dynamodb"
    CREST_CARTS_BACKEND           = "dynamodb"
    CREST_QUEUE_BACKEND           = "sqs"
    CREST_DYNAMODB_CARTS_TABLE    = module.dynamodb.carts_table_name
    CREST_DYNAMODB_SESSIONS_TABLE = module.dynamodb.sessions_table_name
    CREST_SQS_ORDERS_QUEUE_URL    = module.sqs.queue_url
    CREST_DB_APPLY_SCHEMA         = "false"
  }
}

# The storefront's connection secret: a JSON object with CREST_DB_PRIMARY_URL,
# CREST_DB_REPLICA_URLS and CREST_REDIS_URL (the application user's URL-encoded credentials, not
# the RDS master's). Terraform creates the secret, not its value: the migration step
# (deploy/README.md, "Database user and secrets") creates the least-privilege user and writes it.
resource "aws_secretsmanager_secret" "storefront" {
  name                    = "${local.name}/storefront"
  description             = "Connection URLs of the ${local.name} storefront (application DB user, Redis AUTH)"
  recovery_window_in_days = 7
  tags                    = local.tags
}

# Images: the storefront and the load generator, pulled by EKS nodes and the EC2 tier.
resource "aws_ecr_repository" "this" {
  for_each = toset(["storefront", "crest"])

  name                 = "crest/${each.key}"
  image_tag_mutability = "MUTABLE" # the overlays move a per-environment tag (newTag)
  force_delete         = false

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
  }

  tags = local.tags
}
