# Offline plan and apply of the whole root module against a mocked AWS provider (no account, no
# network): run per environment by deploy/tests/terraform.test.mjs as
#   terraform test -var-file=envs/<environment>.tfvars
# The plan proves every for_each/count is known at plan time; the apply (mocked: fake IDs and
# ARNs) lets the assertions read what would be created.

mock_provider "aws" {
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
  mock_data "aws_ssm_parameter" {
    defaults = { value = "ami-0123456789abcdef0" }
  }
  mock_data "aws_secretsmanager_random_password" {
    defaults = { random_password = "MockedAuthTokenMockedAuthTokenMockedAuthToken00" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"] }
  }
  mock_resource "aws_eks_cluster" {
    defaults = {
      identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }] }]
      certificate_authority = [{ data = "LS0tLS1CRUdJTi1DRVJUSUZJQ0FURS0tLS0t" }]
      arn                   = "arn:aws:eks:eu-west-1:123456789012:cluster/mocked"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:eu-west-1:123456789012:key/00000000-0000-0000-0000-000000000001" }
  }
  mock_resource "aws_secretsmanager_secret" {
    defaults = { arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:crest-mocked-AbCdEf" }
  }
  mock_resource "aws_dynamodb_table" {
    defaults = { arn = "arn:aws:dynamodb:eu-west-1:123456789012:table/mocked" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = {
      arn = "arn:aws:sqs:eu-west-1:123456789012:mocked"
      url = "https://sqs.eu-west-1.amazonaws.com/123456789012/mocked"
    }
  }
  mock_resource "aws_ecr_repository" {
    defaults = { repository_url = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/crest/mocked" }
  }
  mock_resource "aws_lb" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/mocked/0123456789abcdef"
      arn_suffix = "app/mocked/0123456789abcdef"
    }
  }
  mock_resource "aws_lb_target_group" {
    defaults = {
      arn        = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/mocked/0123456789abcdef"
      arn_suffix = "targetgroup/mocked/0123456789abcdef"
    }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_db_instance" {
    defaults = {
      master_user_secret = [{ secret_arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds-mocked-AbCdEf", kms_key_id = "", secret_status = "active" }]
      arn                = "arn:aws:rds:eu-west-1:123456789012:db:mocked"
    }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/mocked" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:eu-west-1:123456789012:mocked" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:eu-west-1:123456789012:log-group:mocked" }
  }
  mock_resource "aws_iam_policy" {
    defaults = { arn = "arn:aws:iam::123456789012:policy/mocked" }
  }
}

run "plan" {
  command = plan

  assert {
    condition     = length(module.rds.replica_identifiers) >= 1
    error_message = "no RDS read replica planned"
  }
}

run "apply" {
  command = apply

  # One source of truth for the key schema: deploy/dynamodb/tables.json, also compiled into the
  # storefront. The expected values are the application's (libs/store's adapters write user_id
  # as a number and token as a string), so a change to either side fails here or in C++.
  assert {
    condition     = (module.dynamodb.table_names == ["crest-${var.environment}-carts", "crest-${var.environment}-sessions"])
    error_message = "table names are not <prefix>-carts and <prefix>-sessions"
  }
  assert {
    condition = alltrue([
      for id, t in jsondecode(file("${path.module}/../dynamodb/tables.json")).tables :
      module.dynamodb.key_schemas[id].hash_key == t.hash_key && module.dynamodb.key_schemas[id].key_type == t.key_type
    ])
    error_message = "DynamoDB key schema differs from deploy/dynamodb/tables.json"
  }
  assert {
    condition     = module.dynamodb.key_schemas["carts"].hash_key == "user_id" && module.dynamodb.key_schemas["carts"].key_type == "N" && module.dynamodb.key_schemas["sessions"].hash_key == "token" && module.dynamodb.key_schemas["sessions"].key_type == "S"
    error_message = "DynamoDB keys are not the application's: carts user_id (N), sessions token (S)"
  }
  assert {
    condition     = module.dynamodb.key_schemas["sessions"].ttl_attribute == "expires_at"
    error_message = "sessions must expire by TTL on expires_at"
  }

  # Alarms must be able to notify: a customer-managed key CloudWatch may use.
  assert {
    condition     = module.observability.alarm_topic_kms_key_arn != "alias/aws/sns" && startswith(module.observability.alarm_topic_kms_key_arn, "arn:aws:kms:")
    error_message = "the alarm topic must use the customer-managed key"
  }

  # Somebody can administer the cluster after apply.
  assert {
    condition     = length(module.eks.admin_access_entries) == length(var.eks_admin_role_arns) && length(var.eks_admin_role_arns) > 0
    error_message = "no EKS access entry per admin role"
  }
  assert {
    condition     = jsondecode(module.eks.vpc_cni_configuration).enableNetworkPolicy == "true"
    error_message = "NetworkPolicy enforcement is off in the VPC CNI add-on"
  }

  # Images come from ECR repositories created here.
  assert {
    condition     = join(",", sort(keys(output.ecr_repository_urls))) == "crest,storefront"
    error_message = "ECR repositories crest/storefront and crest/crest are missing"
  }

  # The EC2 tier is configured for the same backends as the pods.
  assert {
    condition = alltrue([
      for k in ["CREST_DYNAMODB_CARTS_TABLE", "CREST_DYNAMODB_SESSIONS_TABLE", "CREST_SQS_ORDERS_QUEUE_URL", "CREST_CACHE", "CREST_DB_BACKEND"] :
      strcontains(module.ec2_tier.user_data, "${k}=${output.storefront_settings[k]}")
    ])
    error_message = "the EC2 tier's user data does not write the storefront settings"
  }
  assert {
    condition     = strcontains(module.ec2_tier.user_data, output.storefront_secret_arn)
    error_message = "the EC2 tier does not read the storefront secret"
  }
}
