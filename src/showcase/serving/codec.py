"""Request bodies to feature matrices and predictions to response bodies, as the built-in XGBoost container.

Content types: ``text/csv`` (parameters ``charset=utf-8|us-ascii`` and ``label_size=0`` accepted: inference rows
carry no label), ``text/libsvm`` and ``text/x-libsvm``; a missing Content-Type means CSV, as in the container.
Accept: ``text/csv`` (the default; one prediction per line), ``application/json``
(``{"predictions": [{"score": x}, ...]}``) and ``application/jsonlines`` (one ``{"score": x}`` per line).

Values, decided to match the container where it is defined and to say exactly what is wrong where it is not:

- CSV rows are as ``showcase.csvrows`` says: comma-separated (the container sniffs other delimiters; here a row
  with another delimiter is refused for its column count), unquoted, no header. Blank lines are skipped; spaces
  around a value are ignored.
- An empty field, or ``nan``, is a *missing* value (NaN), as the container maps ``""`` to ``nan`` and XGBoost
  routes NaN down each split's default branch. ``inf``/``-inf`` are refused with 400: XGBoost refuses infinite
  values in a DMatrix, which is what the container builds; so are values beyond float32's range, which XGBoost
  would silently turn into infinities.
- Every row must hold exactly the model's feature count (no label column), else 400 naming the row.
- libsvm: ``[label] index:value ...`` with 0-based indices below the feature count; absent indices are missing.
- A body that is not UTF-8 is refused with 400 naming the byte offset.

Predictions are written as Python writes the float64 value of XGBoost's float32 output (as the container).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from showcase import csvrows

CSV = "text/csv"
LIBSVM = "text/libsvm"
X_LIBSVM = "text/x-libsvm"
JSON = "application/json"
JSONLINES = "application/jsonlines"

CONTENT_TYPES = (CSV, LIBSVM, X_LIBSVM)
ACCEPTS = (CSV, JSON, JSONLINES)
RESPONSE_CONTENT_TYPES = {CSV: "text/csv; charset=utf-8", JSON: JSON, JSONLINES: JSONLINES}
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
"""SageMaker's limit for one InvokeEndpoint request body (6291456 bytes)."""

_FAST_PATH_BYTES = 16 * 1024  # below this, a Python parse is quicker than pandas' set-up
_ARROW_FROM = 64  # predictions from which Arrow writes them (below, its call costs more than it saves)
_CHARSETS = {"utf-8", "utf8", "us-ascii", "ascii"}


class RequestError(Exception):
    """A request the endpoint refuses: the HTTP status and a message that says what was wrong."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_media_type(header: str) -> tuple[str, dict[str, str]]:
    """``"text/csv; charset=UTF-8"`` -> ``("text/csv", {"charset": "utf-8"})`` (lower-cased, quotes dropped)."""
    kind, *raw_params = header.split(";")
    params = {}
    for raw in raw_params:
        name, _, value = raw.partition("=")
        if name.strip():
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), params


def content_type_of(header: str | None) -> str:
    """The request's content type, one of CONTENT_TYPES; raises RequestError(415) otherwise."""
    if not header or not header.strip():
        return CSV
    kind, params = parse_media_type(header)
    if kind not in CONTENT_TYPES:
        raise RequestError(415, f"Content-Type {header!r} is not supported; use {', '.join(CONTENT_TYPES)}")
    charset = params.get("charset")
    if charset is not None and charset not in _CHARSETS:
        raise RequestError(415, f"Content-Type {header!r}: charset {charset!r} is not supported; send UTF-8")
    label_size = params.get("label_size")
    if kind == CSV and label_size not in (None, "0"):
        raise RequestError(
            415,
            f"Content-Type {header!r}: inference rows carry no label; send label_size=0 or no label_size",
        )
    return kind


def accept_of(header: str | None, default: str = CSV) -> str:
    """The first supported media range of an Accept header, in the order given; raises RequestError(406)."""
    if not header or not header.strip():
        return default
    for media_range in header.split(","):
        kind, _ = parse_media_type(media_range)
        if kind in ACCEPTS:
            return kind
        if kind in ("*/*", "*", "text/*"):
            return default if kind != "text/*" else CSV
        if kind == "application/*":
            return JSON
    raise RequestError(406, f"Accept {header!r} is not supported; use {', '.join(ACCEPTS)}")


FLOAT32_MAX = float(np.finfo(np.float32).max)


ARROW = "arrow"
"""Arrow's CSV reader: a large, plain CSV body (see ``_fast_csv``)."""
PYTHON = "python"
"""The precise parser: every other body, and any Arrow does not read."""


class Parsed(NamedTuple):
    rows: np.ndarray
    parser: str
    """Which parser read the body: ``ARROW`` or ``PYTHON``."""


def decode(body: bytes, content_type: str, num_features: int) -> np.ndarray:
    """The body as a float64 matrix of ``num_features`` columns; raises RequestError(400) naming the problem."""
    return parse(body, content_type, num_features).rows


def parse(body: bytes, content_type: str, num_features: int) -> Parsed:
    """``decode``, saying which parser read the body."""
    rows, parser = (_fast_csv(body, num_features) if content_type == CSV else None), ARROW
    if rows is None:
        text, parser = _utf8(body), PYTHON
        rows = _decode_csv(text, num_features) if content_type == CSV else _decode_libsvm(text, num_features)
    if rows.shape[0] == 0:
        raise RequestError(400, "the body holds no rows; send one row of features per line")
    if (np.abs(rows) > FLOAT32_MAX).any():  # one pass over the values; below, which one comes first
        _refuse_out_of_range(rows)
    return Parsed(rows, parser)


def _refuse_out_of_range(rows: np.ndarray) -> None:
    """Raise RequestError(400) naming the first infinite value, else the first beyond float32's range."""
    infinite = np.argwhere(np.isinf(rows))
    if infinite.size:
        row, column = (int(i) + 1 for i in infinite[0])
        raise RequestError(
            400,
            f"row {row}, column {column}: {rows[row - 1, column - 1]} is not a finite number; "
            "XGBoost refuses infinite values (leave the field empty for a missing value)",
        )
    too_large = np.argwhere(np.abs(rows) > FLOAT32_MAX)
    if too_large.size:
        row, column = (int(i) + 1 for i in too_large[0])
        raise RequestError(
            400,
            f"row {row}, column {column}: {rows[row - 1, column - 1]:g} is beyond the largest value XGBoost "
            f"holds ({FLOAT32_MAX:.4g}, float32) and would be read as infinite",
        )


def _utf8(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RequestError(
            400, f"the body is not UTF-8 text: byte 0x{body[exc.start]:02x} at offset {exc.start} is invalid"
        ) from None


def _fast_csv(body: bytes, num_features: int) -> np.ndarray | None:
    """Arrow's CSV reader on the whole body, straight from its bytes, when it is large and plain ASCII.

    One thread (a worker has one core), no quoting, every field a float64 and none of them missing: what it
    reads, it reads exactly (shortest-round-trip parsing, as Python's float()). None sends the body to the
    precise parser, which reads what this does not (empty fields as missing values, a first row of another
    width) or names the row and column at fault; both ignore spaces and tabs around a value. Only a first row
    of exactly num_features fields is tried here; after it, a row with another count fails the reader. Arrow
    reads the body's own buffer (no copy, and no Python file object whose reads would need the GIL mid-parse).
    """
    if len(body) <= _FAST_PATH_BYTES or not body.isascii() or _first_row_width(body) != num_features:
        return None
    try:
        table = pa_csv.read_csv(pa.BufferReader(body), *_csv_options(num_features))
    except pa.ArrowInvalid:
        return None
    rows = np.empty((table.num_rows, num_features))
    for column, values in enumerate(table.columns):
        rows[:, column] = values.to_numpy()
    return rows


@lru_cache(maxsize=16)
def _csv_options(
    num_features: int,
) -> tuple[pa_csv.ReadOptions, pa_csv.ParseOptions, pa_csv.ConvertOptions]:
    """Arrow's reader options for ``num_features`` float64 columns, made once per feature count."""
    names = [str(column) for column in range(num_features)]
    return (
        pa_csv.ReadOptions(column_names=names, use_threads=False),
        pa_csv.ParseOptions(delimiter=csvrows.DELIMITER, quote_char=False),  # csvrows.QUOTING: none
        pa_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.float64()), null_values=[], strings_can_be_null=False
        ),
    )


def _decode_csv(text: str, num_features: int) -> np.ndarray:
    values: list[list[float]] = []
    for number, line in enumerate(_rows(text), start=1):
        fields = line.split(csvrows.DELIMITER)
        if len(fields) != num_features:
            raise RequestError(
                400,
                f"row {number} has {len(fields)} values; the model takes {num_features} features "
                "(comma-separated, no header, no label column)",
            )
        values.append([_number(field, number, column) for column, field in enumerate(fields, start=1)])
    return np.array(values, dtype=np.float64).reshape(len(values), num_features)


def _first_row_width(body: bytes) -> int:
    """The number of comma-separated fields of the first non-blank line (0 when there is none)."""
    start = 0
    while start < len(body):
        end = body.find(b"\n", start)
        end = len(body) if end < 0 else end
        if body[start:end].strip():
            return body.count(csvrows.DELIMITER.encode(), start, end) + 1
        start = end + 1
    return 0


def _decode_libsvm(text: str, num_features: int) -> np.ndarray:
    rows = list(_rows(text))
    matrix = np.full((len(rows), num_features), np.nan)
    for number, line in enumerate(rows, start=1):
        for position, token in enumerate(line.split()):
            index_text, colon, value_text = token.partition(":")
            if not colon:
                if position == 0:
                    continue  # a label (or label:weight has a colon and is caught below as a bad index)
                raise RequestError(400, f"row {number}: {token[:40]!r} is not an index:value pair")
            if not index_text.isdigit():
                raise RequestError(400, f"row {number}: {token[:40]!r} has no 0-based feature index")
            index = int(index_text)
            if index >= num_features:
                raise RequestError(
                    400, f"row {number}: feature index {index} is out of range; the model has {num_features}"
                )
            matrix[number - 1, index] = _number(value_text, number, index + 1)
    return matrix


def _rows(text: str) -> Iterable[str]:
    for line in text.split("\n"):
        stripped = line.strip()
        if stripped:
            yield stripped


def _number(field: str, row: int, column: int) -> float:
    try:
        return csvrows.number(field)  # an empty field is a missing value, as in the container
    except ValueError:
        raise RequestError(400, f"row {row}, column {column}: {field.strip()[:40]!r} is not a number") from None


# -- responses --------------------------------------------------------------------------------------


def _scores(predictions: np.ndarray) -> list[object]:
    values: list[object] = predictions.tolist()
    return values


def _joined(predictions: np.ndarray, text_of: Callable[[float], str], prefix: str, suffix: str) -> bytes:
    """``prefix + text_of(float(p)) + suffix`` for each prediction of a 1-D array, concatenated, as UTF-8.

    Arrow formats a float64 as Python does (the shortest text that reads back as the same double) at a
    twentieth of the cost, where the two also agree on the notation: a value that is not a whole number, with
    1e-4 <= |value| < 1e15. Every other value (whole numbers, zeros, tiny or huge ones, NaN and infinities)
    is written by ``text_of``; so are short answers, for which Arrow's call costs more than it saves. Arrow
    also joins the pieces, so the answer is one buffer copied once, with no Python string per prediction.
    """
    if len(predictions) < _ARROW_FROM or predictions.dtype.kind != "f":
        return "".join(prefix + text_of(value) + suffix for value in predictions.tolist()).encode()
    values = predictions.astype(np.float64)
    texts = pc.cast(pa.array(values), pa.string())
    other = _other_notation(values)
    if other.any():
        written = pa.array([text_of(value) for value in values[other].tolist()], pa.string())
        texts = pc.replace_with_mask(texts, pa.array(other), written)
    pieces = pc.binary_join_element_wise(prefix, texts, suffix, "")
    offsets = np.frombuffer(pieces.buffers()[1], np.int32, len(pieces) + 1, pieces.offset * 4)
    return memoryview(pieces.buffers()[2])[offsets[0] : offsets[-1]].tobytes()


_ONE_PER_LINE = pa_csv.WriteOptions(include_header=False, quoting_style="none", batch_size=1 << 30)


def _other_notation(values: np.ndarray) -> np.ndarray:
    """Where Arrow's float64 text differs from Python's: whole numbers, |value| < 1e-4 or >= 1e15, NaN, inf."""
    magnitude = np.abs(values)
    with np.errstate(invalid="ignore"):
        return ~((magnitude >= 1e-4) & (magnitude < 1e15) & (values != np.trunc(values)))


def _csv(predictions: np.ndarray) -> bytes:
    if predictions.ndim == 1:
        if len(predictions) >= _ARROW_FROM and predictions.dtype.kind == "f":
            values = predictions.astype(np.float64)
            if not _other_notation(values).any():  # Arrow's CSV writer: the cast and the join in one pass
                sink = pa.BufferOutputStream()
                pa_csv.write_csv(pa.table({"score": values}), sink, _ONE_PER_LINE)
                return sink.getvalue().to_pybytes()
        return _joined(predictions, repr, "", "\n")
    return "".join(",".join(map(str, row)) + "\n" for row in predictions.tolist()).encode()


def _json(predictions: np.ndarray) -> bytes:
    if predictions.ndim == 1 and len(predictions):
        scores = _joined(predictions, json.dumps, '{"score": ', "}, ")
        return b'{"predictions": [' + scores[:-2] + b"]}"
    return json.dumps({"predictions": [{"score": score} for score in _scores(predictions)]}).encode()


def _jsonlines(predictions: np.ndarray) -> bytes:
    if predictions.ndim == 1 and len(predictions):
        return _joined(predictions, json.dumps, '{"score": ', "}\n")
    return "".join(json.dumps({"score": score}) + "\n" for score in _scores(predictions)).encode()


ENCODERS: dict[str, Callable[[np.ndarray], bytes]] = {CSV: _csv, JSON: _json, JSONLINES: _jsonlines}


def encode(predictions: np.ndarray, accept: str) -> bytes:
    """Predictions (one per row, or one list per row for multi-output models) in the accepted format."""
    return ENCODERS[accept](predictions)
