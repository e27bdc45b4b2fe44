environment                   = "staging"
region                        = "eu-west-1"
vpc_cidr_block                = "10.20.0.0/16"
single_nat_gateway            = true
kubernetes_version            = "1.33"
mysql_engine_version          = "8.0.39"
db_instance_class             = "db.t4g.medium"
db_replica_instance_class     = "db.t4g.medium"
db_replica_count              = 1
db_allocated_storage_gb       = 20
db_max_allocated_storage_gb   = 100
db_multi_az                   = false
deletion_protection           = false
redis_node_type               = "cache.t4g.small"
redis_num_cache_clusters      = 2
image_tag                     = "staging"
ec2_tier_instance_type        = "t3.medium"
ec2_tier_min_size             = 2
ec2_tier_max_size             = 4
certificate_arn               = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
p99_latency_threshold_seconds = 1
log_retention_days            = 14

node_groups = {
  general = {
    instance_types = ["m6i.large"]
    capacity_type  = "ON_DEMAND"
    min_size       = 3
    max_size       = 6
    disk_size_gb   = 50
    labels         = {}
  }
}

# EKS API access (modules/eks): public endpoint limited to the admins' egress CIDRs, and the IAM
# roles that administer the cluster. Placeholders: put your VPN/office CIDRs and SSO roles here.
eks_endpoint_public_access       = true
eks_endpoint_public_access_cidrs = ["203.0.113.0/24"]
eks_admin_role_arns              = ["arn:aws:iam::123456789012:role/crest-staging-admin"]
