"""deploy/terraform parsed with python-hcl2: declared and documented variables and outputs, and the
security properties the deployment promises (checked on the parsed resources)."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

TF_DIR = Path(__file__).resolve().parents[2] / "deploy" / "terraform"


def unq(value: Any) -> Any:
    if isinstance(value, str) and len(value) >= 2 and value[0] == value[-1] == '"':
        return value[1:-1]
    return value


def docs() -> dict[str, dict[str, Any]]:
    files = sorted(TF_DIR.glob("*.tf"))
    assert files
    return {f.name: hcl2.loads(f.read_text()) for f in files}


def labelled(kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """variable/output blocks: (name, body)."""
    for doc in docs().values():
        for block in doc.get(kind, []):
            for name, body in block.items():
                yield unq(name), body


def typed(kind: str) -> dict[tuple[str, str], dict[str, Any]]:
    """resource/data blocks: {(type, name): body}."""
    out = {}
    for doc in docs().values():
        for block in doc.get(kind, []):
            for rtype, named in block.items():
                for name, body in named.items():
                    out[(unq(rtype), unq(name))] = body
    return out


def raw_text() -> str:
    return "\n".join(f.read_text() for f in sorted(TF_DIR.glob("*.tf")))


def test_every_file_parses_and_the_layout_is_complete() -> None:
    assert {"versions.tf", "variables.tf", "outputs.tf"} <= set(docs())


def test_every_variable_is_declared_typed_described_and_used() -> None:
    declared = {}
    for name, body in labelled("variable"):
        assert name not in declared, f"variable {name} declared twice"
        declared[name] = body
        assert unq(body.get("description", "")).strip(), f"variable {name} has no description"
        assert "type" in body, f"variable {name} has no type"
    used = set(re.findall(r"\bvar\.([A-Za-z_][A-Za-z0-9_-]*)", raw_text()))
    assert used - set(declared) == set(), f"undeclared: {sorted(used - set(declared))}"
    assert set(declared) - used == set(), f"unused: {sorted(set(declared) - used)}"


def test_every_output_is_described() -> None:
    outputs = dict(labelled("output"))
    assert outputs
    for name, body in outputs.items():
        assert unq(body.get("description", "")).strip(), f"output {name} has no description"


def test_readme_documents_every_variable_and_output() -> None:
    readme = (TF_DIR / "README.md").read_text()
    for kind in ("variable", "output"):
        for name, _ in labelled(kind):
            assert f"`{name}`" in readme, f"README.md does not document {kind} {name}"


def test_vpc_has_public_and_private_subnets_in_two_zones() -> None:
    resources = typed("resource")
    assert ("aws_vpc", "main") in resources
    for tier in ("public", "private"):
        assert resources[("aws_subnet", tier)]["count"] == 2


def test_rds_is_postgres_encrypted_private_with_iam_auth() -> None:
    db = typed("resource")[("aws_db_instance", "main")]
    assert unq(db["engine"]) == "postgres"
    assert db["storage_encrypted"] is True
    assert db["publicly_accessible"] is False
    assert db["iam_database_authentication_enabled"] is True
    assert "aws_kms_key.main" in db["kms_key_id"]
    subnets = typed("resource")[("aws_db_subnet_group", "main")]["subnet_ids"]
    assert "aws_subnet.private" in subnets


def test_bucket_is_kms_encrypted_versioned_and_never_public() -> None:
    resources = typed("resource")
    block = resources[("aws_s3_bucket_public_access_block", "artifacts")]
    for flag in (
        "block_public_acls",
        "block_public_policy",
        "ignore_public_acls",
        "restrict_public_buckets",
    ):
        assert block[flag] is True, flag
    sse = resources[("aws_s3_bucket_server_side_encryption_configuration", "artifacts")]
    default = sse["rule"][0]["apply_server_side_encryption_by_default"][0]
    assert unq(default["sse_algorithm"]) == "aws:kms"
    assert "aws_kms_key.main" in default["kms_master_key_id"]
    versioning = resources[("aws_s3_bucket_versioning", "artifacts")]
    assert unq(versioning["versioning_configuration"][0]["status"]) == "Enabled"


def test_kms_key_rotates() -> None:
    assert typed("resource")[("aws_kms_key", "main")]["enable_key_rotation"] is True


def test_queues_redrive_to_the_dead_letter_queue() -> None:
    resources = typed("resource")
    assert ("aws_sqs_queue", "dlq") in resources
    policy = resources[("aws_sqs_queue", "jobs")]["redrive_policy"]
    assert "aws_sqs_queue.dlq.arn" in policy and "maxReceiveCount" in policy
    for queue in ("jobs", "dlq"):
        assert "aws_kms_key.main" in resources[("aws_sqs_queue", queue)]["kms_master_key_id"]


def test_celery_broker_is_private_encrypted_redis_with_its_url_in_secrets_manager() -> None:
    resources = typed("resource")
    redis = resources[("aws_elasticache_replication_group", "main")]
    assert redis["at_rest_encryption_enabled"] is True
    assert redis["transit_encryption_enabled"] is True
    assert "random_password.redis_auth" in redis["auth_token"]
    assert "aws_subnet.private" in resources[("aws_elasticache_subnet_group", "main")]["subnet_ids"]
    url = resources[("aws_secretsmanager_secret_version", "broker_url")]["secret_string"]
    assert unq(url).startswith("rediss://")  # TLS
    assert "valueFrom = aws_secretsmanager_secret.broker_url.arn" in raw_text()


def test_ecs_runs_api_behind_the_alb_and_workers_with_secrets_from_ssm() -> None:
    resources = typed("resource")
    api, worker = resources[("aws_ecs_service", "api")], resources[("aws_ecs_service", "worker")]
    assert "load_balancer" in api and "load_balancer" not in worker
    assert ("aws_lb", "api") in resources and ("aws_ecs_cluster", "main") in resources
    for td in ("api", "worker"):
        body = resources[("aws_ecs_task_definition", td)]
        assert "FARGATE" in str(body["requires_compatibilities"])
        assert "aws_iam_role.task" in body["task_role_arn"]
    assert ("aws_cloudwatch_log_group", "service") in resources
    text = raw_text()
    assert "valueFrom = aws_ssm_parameter.database_url.arn" in text
    assert '"worker"' in re.search(r'name\s+=\s+"worker"\s+command\s+=\s+\[([^\]]*)\]', text)[1]


def _statements(policy: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from policy.get("statement", [])
    for dyn in policy.get("dynamic", []):
        for body in dyn.values():
            yield from body.get("content", [])


@pytest.mark.parametrize("policy", ["task", "execution"])
def test_role_policies_name_their_resources(policy: str) -> None:
    doc = typed("data")[("aws_iam_policy_document", policy)]
    statements = list(_statements(doc))
    assert statements
    for st in statements:
        actions = [unq(a) for a in st["actions"]]
        assert not any(a == "*" or a.endswith(":*") for a in actions), actions
        resources = st["resources"]
        resources = [unq(r) for r in resources] if isinstance(resources, list) else [resources]
        if "*" in resources:
            # the one AWS action with no resource-level permissions
            assert actions == ["ecr:GetAuthorizationToken"], actions


def test_task_role_reaches_only_this_deployments_resources() -> None:
    doc = typed("data")[("aws_iam_policy_document", "task")]
    text = str(list(_statements(doc)))
    for ref in (
        "aws_s3_bucket.artifacts.arn",
        "aws_kms_key.main.arn",
        "aws_sqs_queue.jobs.arn",
        "aws_sqs_queue.dlq.arn",
        "dbuser:${aws_db_instance.main.resource_id}/${var.db_iam_user}",
    ):
        assert ref in text, ref


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_fmt_is_clean() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-recursive", "-diff", str(TF_DIR)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout
