output "api_url" {
  description = "URL of the API through the load balancer (its DNS name; point your domain names at it)."
  value       = "${local.https ? "https" : "http"}://${aws_lb.api.dns_name}"
}

output "alb_dns_name" {
  description = "DNS name of the load balancer (target of a CNAME/alias record for domain_names)."
  value       = aws_lb.api.dns_name
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.main.id
}

output "public_subnet_ids" {
  description = "IDs of the two public subnets (load balancer, NAT gateways)."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "IDs of the two private subnets (tasks, RDS)."
  value       = aws_subnet.private[*].id
}

output "artifacts_bucket" {
  description = "Name of the artifacts bucket (MLSMITH_STORAGE_URL=s3://<bucket>/artifacts)."
  value       = aws_s3_bucket.artifacts.bucket
}

output "kms_key_arn" {
  description = "ARN of the KMS key (secrets envelope encryption, S3, RDS, SQS, SSM, logs)."
  value       = aws_kms_key.main.arn
}

output "kms_key_alias" {
  description = "Alias of the KMS key (MLSMITH_SECRETS_URL=kms://<alias>)."
  value       = aws_kms_alias.main.name
}

output "jobs_queue_url" {
  description = "URL of the jobs queue (MLSMITH_QUEUE_URL=sqs://<name>)."
  value       = aws_sqs_queue.jobs.id
}


output "dead_letter_queue_url" {
  description = "URL of the dead-letter queue the jobs queue redrives to."
  value       = aws_sqs_queue.dlq.id
}

output "redis_endpoint" {
  description = "Primary endpoint of the ElastiCache Redis (Celery broker and task status; TLS and auth token)."
  value       = aws_elasticache_replication_group.main.primary_endpoint_address
}

output "broker_url_secret_arn" {
  description = "Secrets Manager ARN of the Celery broker URL (holds the Redis auth token)."
  value       = aws_secretsmanager_secret.broker_url.arn
}

output "db_endpoint" {
  description = "Address and port of the RDS PostgreSQL instance (private)."
  value       = "${aws_db_instance.main.address}:${aws_db_instance.main.port}"
}

output "db_master_secret_arn" {
  description = "Secrets Manager ARN of the RDS master password (managed by RDS); needed once to create the IAM user."
  value       = aws_db_instance.main.master_user_secret[0].secret_arn
}

output "db_bootstrap_sql" {
  description = "SQL to run once as the master user: creates the application's IAM-authenticated user and lets it own the schema."
  value       = <<-SQL
    CREATE USER ${var.db_iam_user};
    GRANT rds_iam TO ${var.db_iam_user};
    ALTER DATABASE ${var.db_name} OWNER TO ${var.db_iam_user};
    ALTER SCHEMA public OWNER TO ${var.db_iam_user};
  SQL
}

output "database_url_parameter" {
  description = "SSM parameter holding MLSMITH_DATABASE_URL (SecureString; no password, IAM authentication)."
  value       = aws_ssm_parameter.database_url.name
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.main.name
}

output "api_service_name" {
  description = "Name of the ECS api service."
  value       = aws_ecs_service.api.name
}

output "worker_service_name" {
  description = "Name of the ECS worker service."
  value       = aws_ecs_service.worker.name
}

output "task_role_arn" {
  description = "ARN of the IAM role the mlsmith containers run as."
  value       = aws_iam_role.task.arn
}

output "log_group_names" {
  description = "CloudWatch log groups of the api and worker services."
  value       = { for k, g in aws_cloudwatch_log_group.service : k => g.name }
}
