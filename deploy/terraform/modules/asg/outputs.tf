output "asg_name" {
  description = "Name of the Auto Scaling group."
  value       = aws_autoscaling_group.this.name
}

output "alb_dns_name" {
  description = "DNS name of the tier's ALB."
  value       = aws_lb.this.dns_name
}

output "alb_arn_suffix" {
  description = "ARN suffix of the tier's ALB, for CloudWatch dimensions."
  value       = aws_lb.this.arn_suffix
}

output "instance_security_group_id" {
  description = "Security group of the instances; databases and cache allow it."
  value       = aws_security_group.instances.id
}

output "user_data" {
  description = "The launch template's boot script (decoded), for tests."
  value       = base64decode(aws_launch_template.this.user_data)
}
