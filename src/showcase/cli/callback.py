"""``showcase callback``: complete a waiting Callback step, as SendPipelineExecutionStepSuccess/Failure does.

    showcase callback TOKEN --success Approved=true Reviewer=ana     # the step succeeds with these outputs
    showcase callback TOKEN --failure "rejected by review"           # the step fails with this reason
    showcase callback                                                # the tokens steps are waiting on

The token is in the message the step sent to its queue and in the step's log. The completion is kept under the
home, where the waiting step reads it twice a second. ``--json`` prints the API's answer,
``{"PipelineExecutionArn": ...}``.
"""

from __future__ import annotations

import argparse

from showcase.callbacks import Callbacks
from showcase.cli.common import Context, key_value_flag, name_flag
from showcase.errors import UsageError
from showcase.names import CALLBACK_TOKEN


def register(commands: argparse._SubParsersAction) -> None:
    """``showcase callback``."""
    parser = commands.add_parser(
        "callback", help="complete a waiting Callback step (--success NAME=VALUE ... or --failure REASON)",
        description=__doc__.split("\n\n")[0].replace("``", ""),
    )  # fmt: skip
    parser.add_argument(
        "token", nargs="?", type=name_flag(CALLBACK_TOKEN, "callback token"), metavar="TOKEN",
        help="the step's CallbackToken (10 letters and digits); none: list the tokens steps wait on",
    )  # fmt: skip
    outcome = parser.add_mutually_exclusive_group()
    outcome.add_argument(
        "--success", nargs="*", type=key_value_flag, metavar="NAME=VALUE",
        help="the step succeeds, with these output parameters",
    )  # fmt: skip
    outcome.add_argument("--failure", metavar="REASON", help="the step fails, with this reason")
    parser.set_defaults(handler=_callback)


def _callback(ctx: Context) -> int:
    callbacks = Callbacks(ctx.settings.home)
    token = ctx.args.token
    if token is None:
        if ctx.args.success is not None or ctx.args.failure is not None:
            raise UsageError("--success and --failure need the TOKEN of a waiting step (see --help)")
        waiting = callbacks.waiting()
        rows = [(e["CallbackToken"], e["ExecutionId"], e["StepName"], e["SqsQueueUrl"]) for e in waiting]
        ctx.out.table(("TOKEN", "EXECUTION", "STEP", "QUEUE"), rows, empty="no Callback step is waiting")
        ctx.out.document({"Callbacks": waiting})
        return 0
    if ctx.args.success is None and ctx.args.failure is None:
        raise UsageError("say how the step ends: --success [NAME=VALUE ...] or --failure REASON (see --help)")
    if ctx.args.failure is not None:
        done = callbacks.fail(token, ctx.args.failure)
    else:
        done = callbacks.succeed(token, dict(ctx.args.success))
    ended = "failed" if ctx.args.failure is not None else "succeeded"
    ctx.out.line(f"step {done['StepName']} of execution {done['ExecutionId']} {ended} (token {token})")
    ctx.out.document({"PipelineExecutionArn": done["PipelineExecutionArn"]})
    return 0
