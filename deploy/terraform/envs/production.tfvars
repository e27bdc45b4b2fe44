environment                   = "production"
region                        = "eu-west-1"
vpc_cidr_block                = "10.10.0.0/16"
single_nat_gateway            = false
kubernetes_version            = "1.33"
mysql_engine_version          = "8.0.39"
db_instance_class             = "db.r6g.2xlarge"
db_replica_instance_class     = "db.r6g.2xlarge"
db_replica_count              = 2
db_allocated_storage_gb       = 200
db_max_allocated_storage_gb   = 1000
db_multi_az                   = true
deletion_protection           = true
redis_node_type               = "cache.r6g.large"
redis_num_cache_clusters      = 3
image_tag                     = "production"
ec2_tier_instance_type        = "c6i.large"
ec2_tier_min_size             = 3
ec2_tier_max_size             = 12
certificate_arn               = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
p99_latency_threshold_seconds = 0.5
log_retention_days            = 30
alarm_emails                  = []

node_groups = {
  general = {
    instance_types = ["m6i.xlarge", "m6a.xlarge"]
    capacity_type  = "ON_DEMAND"
    min_size       = 3
    max_size       = 30
    disk_size_gb   = 100
    labels         = {}
  }
  burst = {
    instance_types = ["c6i.xlarge", "c6a.xlarge", "c5.xlarge"]
    capacity_type  = "SPOT"
    min_size       = 1
    max_size       = 40
    disk_size_gb   = 50
    labels         = { "crest.io/capacity" = "spot" }
  }
}

# EKS API access (modules/eks): public endpoint limited to the admins' egress CIDRs, and the IAM
# roles that administer the cluster. Placeholders: put your VPN/office CIDRs and SSO roles here.
eks_endpoint_public_access       = true
eks_endpoint_public_access_cidrs = ["203.0.113.0/24"]
eks_admin_role_arns              = ["arn:aws:iam::123456789012:role/crest-production-admin"]
