# ECS/Fargate: one cluster, an `api` service behind the load balancer and a `worker` service
# (`mlsmith worker`, Celery). Both run the same image with the same settings.

locals {
  https     = var.certificate_arn != null
  api_hosts = concat(var.domain_names, [aws_lb.api.dns_name])

  environment = merge(
    {
      MLSMITH_DATA_DIR                         = "/data"
      MLSMITH_STORAGE_URL                      = "s3://${aws_s3_bucket.artifacts.bucket}/artifacts"
      MLSMITH_SECRETS_URL                      = "kms://${aws_kms_alias.main.name}"
      MLSMITH_QUEUE_URL                        = "sqs://${aws_sqs_queue.jobs.name}"
      MLSMITH_QUEUE_OPTIONS__REGION            = var.aws_region
      MLSMITH_QUEUE_OPTIONS__DEAD_LETTER_QUEUE = aws_sqs_queue.dlq.name
      MLSMITH_QUEUE_OPTIONS__WAIT_TIME_S       = "20"
      MLSMITH_STORAGE_OPTIONS__REGION          = var.aws_region
      MLSMITH_STORAGE_OPTIONS__SSE             = "aws:kms"
      MLSMITH_STORAGE_OPTIONS__SSE_KMS_KEY_ID  = aws_kms_key.main.arn
      MLSMITH_SECRETS_OPTIONS__REGION          = var.aws_region
      MLSMITH_COMPUTE                          = "celery"
      MLSMITH_NOTIFIER_URL                     = var.notifier_url
      MLSMITH_WORKERS                          = tostring(var.worker_concurrency)
      MLSMITH_LOG_JSON                         = "true"
      # The load balancer forwards only the configured host names (listener rule below); its
      # health checks use the task's IP as Host, so the application itself accepts any.
      MLSMITH_TRUSTED_HOSTS = jsonencode(["*"])
      AWS_REGION            = var.aws_region
      AWS_DEFAULT_REGION    = var.aws_region
    },
    { for k, v in var.database_options : "MLSMITH_DATABASE_OPTIONS__${upper(k)}" => v },
    { for k, v in var.compute_options : "MLSMITH_COMPUTE_OPTIONS__${upper(k)}" => v },
    var.extra_environment,
  )

  secrets = concat(
    [
      { name = "MLSMITH_DATABASE_URL", valueFrom = aws_ssm_parameter.database_url.arn },
      { name = "MLSMITH_COMPUTE_OPTIONS__BROKER_URL", valueFrom = aws_secretsmanager_secret.broker_url.arn },
    ],
    [for s in aws_secretsmanager_secret.webhook_secret : { name = "MLSMITH_NOTIFIER_OPTIONS__SECRET", valueFrom = s.arn }],
  )

  container_common = {
    image                  = var.image
    essential              = true
    readonlyRootFilesystem = true
    environment            = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    secrets                = local.secrets
    mountPoints = [
      { sourceVolume = "data", containerPath = "/data", readOnly = false },
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
    ]
    stopTimeout = 120 # graceful shutdown hands in-flight runs back to the queue
  }
}

resource "aws_cloudwatch_log_group" "service" {
  for_each = toset(["api", "worker"])

  name              = "/ecs/${var.name}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.main.arn
}

resource "aws_ecs_cluster" "main" {
  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_ecs_task_definition" "api" {
  family                   = "${var.name}-api"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.api_cpu
  memory                   = var.api_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "data"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_common, {
    name         = "api"
    command      = ["serve", "--host", "0.0.0.0", "--port", "8000"]
    portMappings = [{ containerPort = 8000, protocol = "tcp" }]
    healthCheck = {
      command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service["api"].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "api"
      }
    }
  })])
}

resource "aws_ecs_task_definition" "worker" {
  family                   = "${var.name}-worker"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.worker_cpu
  memory                   = var.worker_memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "data"
  }

  volume {
    name = "tmp"
  }

  container_definitions = jsonencode([merge(local.container_common, {
    name    = "worker"
    command = ["worker"]
    healthCheck = {
      command     = ["CMD", "python", "-c", "import sys; sys.exit(b'worker' not in open('/proc/1/cmdline', 'rb').read())"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.service["worker"].name
        awslogs-region        = var.aws_region
        awslogs-stream-prefix = "worker"
      }
    }
  })])
}

resource "aws_ecs_service" "api" {
  name                              = "api"
  cluster                           = aws_ecs_cluster.main.id
  task_definition                   = aws_ecs_task_definition.api.arn
  desired_count                     = var.api_desired_count
  launch_type                       = "FARGATE"
  health_check_grace_period_seconds = 60
  propagate_tags                    = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.api.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.api.arn
    container_name   = "api"
    container_port   = 8000
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  depends_on = [aws_lb_listener_rule.api]
}

resource "aws_ecs_service" "worker" {
  name            = "worker"
  cluster         = aws_ecs_cluster.main.id
  task_definition = aws_ecs_task_definition.worker.arn
  desired_count   = var.worker_desired_count
  launch_type     = "FARGATE"
  propagate_tags  = "SERVICE"

  network_configuration {
    subnets          = aws_subnet.private[*].id
    security_groups  = [aws_security_group.worker.id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }
}

# ---- load balancer ------------------------------------------------------------------------------------

resource "aws_lb" "api" {
  name_prefix                = substr(var.name, 0, 6)
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = aws_subnet.public[*].id
  security_groups            = [aws_security_group.alb.id]
  drop_invalid_header_fields = true
  idle_timeout               = 300 # Server-Sent Events of long runs
}

resource "aws_lb_target_group" "api" {
  name_prefix          = substr(var.name, 0, 6)
  port                 = 8000
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = 30

  health_check {
    path                = "/readyz"
    matcher             = "200"
    interval            = 15
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.api.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "text/plain"
      message_body = "unknown host"
      status_code  = "421"
    }
  }
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.api.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = local.https ? "redirect" : "fixed-response"

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }

    dynamic "fixed_response" {
      for_each = local.https ? [] : [1]
      content {
        content_type = "text/plain"
        message_body = "unknown host"
        status_code  = "421"
      }
    }
  }
}

# Forward only requests for the configured host names (DNS-rebinding protection at the edge).
resource "aws_lb_listener_rule" "api" {
  listener_arn = local.https ? aws_lb_listener.https[0].arn : aws_lb_listener.http.arn
  priority     = 10

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api.arn
  }

  condition {
    host_header {
      values = local.api_hosts
    }
  }
}
