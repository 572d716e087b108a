r"""Naming rules: every name that becomes a file path, a job or model name, or part of an ARN is checked here first.

Each SageMaker rule is the ``pattern`` and length of a string shape in botocore's SageMaker service model
(``botocore/data/sagemaker/2017-07-24/service-2.json``), named by ``shape``; SageMaker matches the whole value
against the pattern. A name that breaks its rule is refused before it is used, so a step named ``../../x``
never becomes ``executions/<id>/steps/../../x.log``.

    STEP_NAME       StepName               [A-Za-z0-9\-_]*                           1-64 (the shape allows 0)
    PIPELINE_NAME   PipelineName           [a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}         1-256
    PARAMETER_NAME  PipelineParameterName  [A-Za-z0-9\-_]*                           1-256
    CHANNEL_NAME    ChannelName            [A-Za-z0-9\.\-_]+, not . or ..            1-64
    MODEL_NAME      ModelName              [a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?   1-63
    GROUP_NAME      EntityName             [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}          1-63 (a model package group)
    EXECUTION_ID    the local runtime's execution ids: 12 lower-case letters and digits, like SageMaker's
    FUNCTION_NAME   lambda FunctionName's name part   [a-zA-Z0-9-_]+              1-64
    QUEUE_NAME      sqs CreateQueue's QueueName       [a-zA-Z0-9-_]+ (.fifo)      1-80
    CALLBACK_TOKEN  sagemaker CallbackToken           [a-zA-Z0-9]+                exactly 10
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from showcase.errors import UsageError

SHOWN = 80
"""How much of a refused name a message quotes."""


@dataclass(frozen=True)
class NameRule:
    """One naming rule: what the name is called, where the rule comes from, and the rule."""

    shape: str
    """The botocore shape the rule is read from (or what it is, for a rule of this project's own)."""
    pattern: str
    max_length: int
    says: str
    """The rule in words, for messages."""
    min_length: int = 1
    reserved: frozenset[str] = frozenset()
    """Values the pattern allows that name something else here (``.`` and ``..`` are directories)."""
    _compiled: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_compiled", re.compile(self.pattern))

    def problem(self, what: str, value: object) -> str | None:
        """Why ``value`` is not a valid name (``what`` says which name, e.g. "step name"); None when it is."""
        if not isinstance(value, str):
            return f"{what} must be a string, got {shown(value)}"
        fits = self.min_length <= len(value) <= self.max_length
        if fits and self._compiled.fullmatch(value) and value not in self.reserved:
            return None
        lengths = "" if self.min_length == self.max_length else f", {self.min_length}-{self.max_length} characters"
        return f"{what} {shown(value)} is not a valid {self.shape}: {self.says}{lengths}"

    def check(self, what: str, value: object) -> str:
        """``value`` when it is a valid name; else a UsageError that says what is wrong."""
        problem = self.problem(what, value)
        if problem is not None:
            raise UsageError(problem)
        assert isinstance(value, str)
        return value


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, cut to ``SHOWN`` characters (control characters escaped)."""
    text = repr(value)
    return text if len(text) <= SHOWN else f"{text[: SHOWN - 20]}...{text[-12:]} ({len(str(value))} characters)"


_WORD = "letters, digits, hyphens and underscores"
_HYPHENATED = "letters, digits and hyphens, starting and ending with a letter or digit"

STEP_NAME = NameRule("StepName", r"[A-Za-z0-9\-_]*", 64, _WORD)
"""A pipeline step's name: it names the step's log file and work directory. StepName's minimum is 0, but a step
needs a name to be referred to (and the SDK gives every step one), so an empty one is refused."""
PIPELINE_NAME = NameRule("PipelineName", r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,255}", 256, _HYPHENATED)
PARAMETER_NAME = NameRule("PipelineParameterName", r"[A-Za-z0-9\-_]*", 256, _WORD)
CHANNEL_NAME = NameRule(
    "ChannelName",
    r"[A-Za-z0-9\.\-_]+",
    64,
    "letters, digits, dots, hyphens and underscores, other than . and ..",
    reserved=frozenset({".", ".."}),
)
"""A training channel's name: the job reads it at ``/opt/ml/input/data/<channel>``."""
MODEL_NAME = NameRule("ModelName", r"[a-zA-Z0-9]([\-a-zA-Z0-9]*[a-zA-Z0-9])?", 63, _HYPHENATED)
GROUP_NAME = NameRule("EntityName", r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}", 63, _HYPHENATED)
"""A model package group's name: CreateModelPackageGroup's ModelPackageGroupName is an EntityName."""
EXECUTION_ID = NameRule("pipeline execution id", r"[a-z0-9]{12}", 12, "12 lower-case letters and digits", min_length=12)
"""The local runtime's execution ids (``local.records.new_execution_id``); an execution's directory is named by it."""
FUNCTION_NAME = NameRule("FunctionName", r"[a-zA-Z0-9\-_]+", 64, _WORD)
"""A Lambda function's name (the name part of FunctionName, whose ARN forms are read by ``showcase.functions``)."""
QUEUE_NAME = NameRule("QueueName", r"[a-zA-Z0-9\-_]+(\.fifo)?", 80, _WORD + " (a FIFO queue's ends in .fifo)")
"""An SQS queue's name, as CreateQueue documents it; a local queue's directory is named by it."""
CALLBACK_TOKEN = NameRule("CallbackToken", r"[a-zA-Z0-9]+", 10, "letters and digits", min_length=10)
"""A Callback step's token (sagemaker service-2.json: exactly 10 characters); its completion file is named by it."""
