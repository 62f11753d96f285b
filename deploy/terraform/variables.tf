# ---- general -------------------------------------------------------------------------------------

variable "name" {
  description = "Name prefix of every resource (lowercase letters, digits and hyphens)."
  type        = string
  default     = "mlsmith"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name must be 2-31 characters of lowercase letters, digits and hyphens."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into."
  type        = string
}

variable "tags" {
  description = "Extra tags applied to every resource."
  type        = map(string)
  default     = {}
}

# ---- network -------------------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC; split into two public and two private subnets (one of each per availability zone)."
  type        = string
  default     = "10.40.0.0/16"
}

variable "allowed_ingress_cidrs" {
  description = "Client CIDR blocks allowed to reach the load balancer."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "domain_names" {
  description = "Host names clients use for the API (e.g. [\"ml.example.com\"]). The load balancer forwards only these and its own DNS name (at most 4 here)."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.domain_names) <= 4
    error_message = "At most 4 domain names (an ALB rule condition holds 5 values, one is the ALB's own name)."
  }
}

variable "certificate_arn" {
  description = "ACM certificate ARN for HTTPS on the load balancer. null serves plain HTTP (evaluation only)."
  type        = string
  default     = null
}

# ---- containers ----------------------------------------------------------------------------------

variable "image" {
  description = "Container image of mlsmith (built from the repository's Dockerfile), e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlsmith:0.1.0."
  type        = string
}

variable "ecr_repository_arns" {
  description = "ARNs of the ECR repositories the image is pulled from (the execution role may pull from these only). Empty for a public image."
  type        = list(string)
  default     = []
}

variable "api_desired_count" {
  description = "Number of api tasks."
  type        = number
  default     = 2
}

variable "worker_desired_count" {
  description = "Number of worker tasks (`mlsmith worker`, Celery)."
  type        = number
  default     = 2
}

variable "api_cpu" {
  description = "CPU units of an api task (1024 = 1 vCPU)."
  type        = number
  default     = 1024
}

variable "api_memory" {
  description = "Memory of an api task, MiB."
  type        = number
  default     = 2048
}

variable "worker_cpu" {
  description = "CPU units of a worker task (1024 = 1 vCPU); training is CPU bound."
  type        = number
  default     = 4096
}

variable "worker_memory" {
  description = "Memory of a worker task, MiB; must hold the largest dataset a few times over."
  type        = number
  default     = 16384
}

variable "worker_concurrency" {
  description = "Jobs run at once by one task (MLSMITH_WORKERS)."
  type        = number
  default     = 2
}

variable "notifier_url" {
  description = "MLSMITH_NOTIFIER_URL: log://, webhook+https://..., or sns://topic-arn."
  type        = string
  default     = "log://"
}

variable "compute_options" {
  description = "Extra options of the Celery compute adapter, passed as MLSMITH_COMPUTE_OPTIONS__<KEY> (e.g. TIME_LIMIT_S). The broker URL comes from Secrets Manager."
  type        = map(string)
  default     = {}
}

variable "database_options" {
  description = "Options of the PostgreSQL adapter, passed as MLSMITH_DATABASE_OPTIONS__<KEY>: set the RDS IAM-authentication option of the installed mlsmith-aws here (adapters refuse unknown names)."
  type        = map(string)
  default     = {}
}

variable "extra_environment" {
  description = "Extra environment variables for api and worker containers (other MLSMITH_* settings, see .env.example). Never put secrets here."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the CloudWatch log groups, days."
  type        = number
  default     = 30
}

# ---- database ------------------------------------------------------------------------------------

variable "db_engine_version" {
  description = "PostgreSQL major version of the RDS instance."
  type        = string
  default     = "16"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "db_allocated_storage" {
  description = "Initial RDS storage, GiB."
  type        = number
  default     = 20
}

variable "db_max_allocated_storage" {
  description = "Upper bound of RDS storage autoscaling, GiB."
  type        = number
  default     = 200
}

variable "db_name" {
  description = "Name of the metadata database."
  type        = string
  default     = "mlsmith"
}

variable "db_master_username" {
  description = "RDS master user (its password is generated and kept by RDS in Secrets Manager); used only to create the application's IAM user."
  type        = string
  default     = "mlsmith_admin"
}

variable "db_iam_user" {
  description = "Database user the application connects as with IAM authentication (no password)."
  type        = string
  default     = "mlsmith_app"
}

variable "db_multi_az" {
  description = "Run RDS in two availability zones."
  type        = bool
  default     = true
}

variable "db_backup_retention_days" {
  description = "Days RDS keeps automated backups."
  type        = number
  default     = 7
}

variable "db_deletion_protection" {
  description = "Refuse to delete the RDS instance (turn off before `terraform destroy`)."
  type        = bool
  default     = true
}

# ---- queues and storage --------------------------------------------------------------------------

variable "queue_visibility_timeout_s" {
  description = "Visibility timeout of the jobs queue (the first lease; workers extend it with heartbeats), seconds."
  type        = number
  default     = 60
}


variable "queue_max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
  default     = 5
}

variable "artifacts_noncurrent_days" {
  description = "Days overwritten or deleted artifact versions are kept in the versioned bucket."
  type        = number
  default     = 90
}

# ---- Redis (Celery) ----------------------------------------------------------------------------------

variable "redis_node_type" {
  description = "ElastiCache node type of the Celery broker (two nodes, one per availability zone)."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_engine_version" {
  description = "Redis engine version of the ElastiCache replication group."
  type        = string
  default     = "7.1"
}
