"""GetTemplateSummary: a template's parameters, resource types and description, without deploying it."""

from __future__ import annotations

from typing import Any

from showcase.api.cloudformation.plans import invalid
from showcase.deployment.template import load_template
from showcase.errors import UsageError


def summary(text: str) -> dict[str, Any]:
    try:
        template = load_template(text, "Template format error: the template")
    except UsageError as exc:
        raise invalid(str(exc)) from None
    parameters = []
    for name, spec in (template.get("Parameters") or {}).items():
        entry: dict[str, Any] = {
            "ParameterKey": name,
            "ParameterType": spec.get("Type", "String"),
            "NoEcho": bool(spec.get("NoEcho", False)),
            "ParameterConstraints": {},
        }
        if "Default" in spec:
            entry["DefaultValue"] = str(spec["Default"])
        if spec.get("Description"):
            entry["Description"] = spec["Description"]
        if spec.get("AllowedValues"):
            entry["ParameterConstraints"] = {"AllowedValues": [str(value) for value in spec["AllowedValues"]]}
        parameters.append(entry)
    resources = template["Resources"].values()
    answer: dict[str, Any] = {
        "Parameters": parameters,
        "ResourceTypes": sorted({str(r.get("Type")) for r in resources if isinstance(r, dict)}),
        "Version": str(template.get("AWSTemplateFormatVersion", "2010-09-09")),
        "DeclaredTransforms": [],
    }
    if template.get("Description"):
        answer["Description"] = template["Description"]
    return answer
