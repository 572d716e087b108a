"""STS GetCallerIdentity, IAM GetRole and SimulatePrincipalPolicy, answered as for a SageMaker execution role.

The caller is ``arn:aws:sts::<account>:assumed-role/<role>/SageMaker`` (Studio's identity), so
``get_execution_role()``'s logic (caller ARN -> role name -> GetRole) finds a role. Any role name is a role here:
the local runtime assumes nothing, so GetRole answers every name with an execution role whose trust policy lets
``sagemaker.amazonaws.com`` assume it, and SimulatePrincipalPolicy allows every action (there are no IAM policies
here): what the SDK v3's role validation reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from showcase.api.errors import ApiError
from showcase.api.state import SESSION_NAME, Call, Handler

_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
ROLE_CREATED = datetime(2024, 1, 1, tzinfo=timezone.utc)
TRUST_POLICY = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "sagemaker.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _unique_id(prefix: str, name: str) -> str:
    """A stable IAM-style unique id (``AROA`` + 17 characters) for a role name."""
    return prefix + hashlib.sha256(name.encode()).hexdigest()[:17].upper()


def get_caller_identity(call: Call) -> dict[str, Any]:
    identity = call.state.identity
    return {
        "UserId": f"{_unique_id('AROA', identity.role_name)}:{SESSION_NAME}",
        "Account": identity.account,
        "Arn": identity.assumed_role_arn,
    }


def get_role(call: Call) -> dict[str, Any]:
    name = call.params["RoleName"]
    if not _ROLE_NAME.match(name):
        raise ApiError(
            "ValidationError",
            f"1 validation error detected: Value '{name}' at 'roleName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        )
    path = "/service-role/" if name.startswith("AmazonSageMaker-ExecutionRole") else "/"
    return {
        "Role": {
            "Path": path,
            "RoleName": name,
            "RoleId": _unique_id("AROA", name),
            "Arn": f"arn:aws:iam::{call.state.identity.account}:role{path}{name}",
            "CreateDate": ROLE_CREATED,
            "AssumeRolePolicyDocument": quote(json.dumps(TRUST_POLICY)),
            "Description": "A SageMaker execution role, as the local API answers for any role name",
            "MaxSessionDuration": 3600,
        }
    }


def simulate_principal_policy(call: Call) -> dict[str, Any]:
    """Every action is allowed: the local runtime has no IAM policies (what the SDK's role validation asks)."""
    resources = call.params.get("ResourceArns") or ["*"]
    results = [
        {
            "EvalActionName": action,
            "EvalResourceName": resource,
            "EvalDecision": "allowed",
            "MatchedStatements": [],
            "MissingContextValues": [],
        }
        for action in call.params["ActionNames"]
        for resource in resources
    ]
    return {"EvaluationResults": results, "IsTruncated": False}


STS_OPERATIONS: dict[str, Handler] = {"GetCallerIdentity": get_caller_identity}
IAM_OPERATIONS: dict[str, Handler] = {"GetRole": get_role, "SimulatePrincipalPolicy": simulate_principal_policy}
