output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_endpoint" {
  description = "API server endpoint."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority" {
  description = "Base64 CA certificate of the API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_security_group_id" {
  description = "Security group EKS attaches to the control plane and managed nodes; databases allow it."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider used for IRSA."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "irsa_role_arns" {
  description = "IRSA role ARN by role name (cluster-autoscaler, aws-load-balancer-controller, fluent-bit, workloads)."
  value       = { for k, r in aws_iam_role.irsa : k => r.arn }
}

output "cluster_autoscaler_role_arn" {
  description = "IRSA role ARN for the Cluster Autoscaler's ServiceAccount."
  value       = aws_iam_role.irsa["cluster-autoscaler"].arn
}

output "aws_load_balancer_controller_role_arn" {
  description = "IRSA role ARN for the AWS Load Balancer Controller's ServiceAccount."
  value       = aws_iam_role.irsa["aws-load-balancer-controller"].arn
}

output "admin_access_entries" {
  description = "Principal ARNs with a cluster-admin access entry."
  value       = [for e in aws_eks_access_policy_association.admin : e.principal_arn]
}

output "vpc_cni_configuration" {
  description = "configuration_values of the vpc-cni add-on (enableNetworkPolicy)."
  value       = aws_eks_addon.vpc_cni.configuration_values
}
