"""Send CSV rows to an endpoint and print one prediction per row.

    python predict/predict.py --endpoint-name crayon-showcase-endpoint --file-path predict/sample_payload.csv

Rows are the model's features, comma-separated, no header and no label. Locally, ``--endpoint-url`` (or
AWS_ENDPOINT_URL, which boto3 honours by itself) points the call somewhere other than AWS.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

from showcase.aws.runtime import invoke_csv, runtime_client
from showcase.cli.common import ArgumentParser, add_log_level, configure_logging, run_cli
from showcase.deployment.config import DEFAULT_ENDPOINT_NAME
from showcase.errors import AwsError, UsageError

logger = logging.getLogger(__name__)

DEFAULT_REGION = "eu-west-1"
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # SageMaker's limit for one InvokeEndpoint request


def read_csv_rows(path: str | os.PathLike[str]) -> list[str]:
    """The non-blank lines of a CSV of numbers, checked to be numeric and of one width."""
    name = str(path)
    try:
        size = os.path.getsize(path)
        if size > MAX_PAYLOAD_BYTES:
            raise UsageError(f"{name!r} is {size} bytes; an endpoint accepts at most {MAX_PAYLOAD_BYTES}; split it")
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"payload file {name!r} does not exist") from None
    except IsADirectoryError:
        raise UsageError(f"payload file {name!r} is a directory; give a CSV file") from None
    except UnicodeDecodeError:
        raise UsageError(f"payload file {name!r} is not UTF-8 text; give a CSV file") from None
    except OSError as exc:
        raise UsageError(f"payload file {name!r} cannot be read: {exc.strerror}") from None

    rows = [line.strip() for line in text.splitlines() if line.strip()]
    if not rows:
        raise UsageError(f"payload file {name!r} has no rows; give one row of comma-separated features per line")
    width = len(rows[0].split(","))
    for number, row in enumerate(rows, start=1):
        fields = row.split(",")
        if len(fields) != width:
            raise UsageError(f"{name!r} row {number} has {len(fields)} values, row 1 has {width}")
        for value in fields:
            try:
                float(value)
            except ValueError:
                raise UsageError(
                    f"{name!r} row {number}: {value.strip()!r} is not a number "
                    "(rows are features only: no header, no label)"
                ) from None
    return rows


def parse_predictions(answer: str, expected: int, endpoint_name: str) -> list[str]:
    """Split the endpoint's CSV answer (one score per line, or all on one line) into one value per row."""
    values = [value.strip() for line in answer.splitlines() for value in line.split(",") if value.strip()]
    if len(values) != expected:
        raise AwsError(
            f"endpoint {endpoint_name!r} answered {len(values)} values for {expected} rows: {answer[:200]!r}"
        )
    return values


def build_parser(default_payload: str | None = None) -> ArgumentParser:
    parser = ArgumentParser(prog="predict.py", description="Send CSV rows to an endpoint; print the predictions.")
    parser.add_argument(
        "--endpoint-name",
        default=DEFAULT_ENDPOINT_NAME,
        help=f"endpoint to call (default: {DEFAULT_ENDPOINT_NAME})",
    )
    parser.add_argument(
        "--file-path",
        default=default_payload,
        required=default_payload is None,
        help="CSV of feature rows, no header"
        + (f" (default: {Path(default_payload).name} beside the script)" if default_payload else ""),
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or DEFAULT_REGION,
        help=f"AWS region (default: AWS_DEFAULT_REGION, else {DEFAULT_REGION})",
    )
    parser.add_argument(
        "--endpoint-url",
        default=None,
        help="runtime API URL of a local endpoint (default: AWS, or AWS_ENDPOINT_URL)",
    )
    add_log_level(parser)
    return parser


def main(argv: Sequence[str] | None = None, *, default_payload: str | None = None) -> int:
    args = build_parser(default_payload).parse_args(argv)
    configure_logging(args.log_level)

    rows = read_csv_rows(args.file_path)
    runtime = runtime_client(region=args.region, endpoint_url=args.endpoint_url)
    logger.debug("sending %d rows to %s", len(rows), args.endpoint_name)
    answer = invoke_csv(runtime, args.endpoint_name, "\n".join(rows) + "\n")
    for prediction in parse_predictions(answer, len(rows), args.endpoint_name):
        print(prediction)
    return 0


def entry(argv: Sequence[str] | None = None, *, default_payload: str | None = None) -> int:
    """The command line: ``main`` behind the error boundary (one line on stderr, an exit code)."""
    return run_cli(lambda args: main(args, default_payload=default_payload), argv)
