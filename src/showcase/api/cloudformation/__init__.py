"""CloudFormation on loopback: a deliberately small engine for the resources this project's templates declare.

    handlers   the operations that change stacks: change sets, CreateStack, UpdateStack, DeleteStack
    reading    the operations that read them: DescribeStacks, events, resources, templates, ListStacks
    plans      a template read and checked with its parameters; the changes from the stack's current resources
    engine     create, update and delete, with CloudFormation's rollback, one resource at a time, in a thread
    providers  one resource made, changed or deleted through the local API's own SageMaker and CloudWatch handlers
    resources  the resource types made, with their schemas' create-only properties and attributes
    stacks     the stack records under ``<home>/cloudformation/`` and their events
    summary    GetTemplateSummary

The intrinsic functions themselves are ``showcase.deployment.intrinsics`` (they need no AWS). A resource type not
in ``resources.TYPES`` is refused when the change set is created, naming it, before anything is made.
"""

from __future__ import annotations

from showcase.api.cloudformation import handlers, reading

OPERATIONS = {**handlers.OPERATIONS, **reading.OPERATIONS}

__all__ = ["OPERATIONS"]
