"""Bad pipeline input data: each file fails the prepare step with a message naming the problem, and a file of one
enormous line (1 GB, sparse on disk) is refused after reading its first chunk, in bounded memory."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from showcase import preprocess
from showcase.preprocess import MAX_LINE, DataError, read_rows
from tests.reliability_support import (
    build_definition,
    clean_env,
    local_cli,
    prepare_home,
    read_record,
    start_args,
)

GOOD = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15"
GIGABYTE = 1 << 30
MAX_RSS_MB = 400  # pandas and numpy alone take ~120 MB; reading the 1 GB line would take over 1,000


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the input data is empty: expected 9 comma-separated fields per row, no header"),
        (
            b"sex,length,diameter,height,whole_weight,shucked_weight,viscera_weight,shell_weight,rings\n"
            + (GOOD + "\n").encode() * 30,
            "row 1, column 1 (sex): 'sex' is not one of M, F, I; is row 1 a header? the file must have none",
        ),
        ((GOOD + "\n").encode() * 30 + b"M,0.455,0.365\n", "row 31 has 3 fields, expected 9"),
        ((GOOD + ",extra\n").encode() * 30, "row 1 has 10 fields, expected 9"),
        ((GOOD + "\n").encode() * 30 + b"M,0.455,nan,0.095,0.514,0.2245,0.101,0.15,15\n", "row 31, column 3"),
        ((GOOD + "\n").encode() * 30 + b"M,0.455,0.3,NaN,0.514,0.2245,0.101,0.15,15\n", "a missing value"),
        ((GOOD + "\n").encode() * 3 + b"M," + b"1" * 2_000_000 + b"\n", "row 4 is longer than 1024 characters"),
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, "row 1: byte 0x89 is not ASCII text"),
    ],
    ids=["empty", "header", "short-row", "wide-rows", "nan", "NaN", "2MB-line", "binary"],
)
def test_each_bad_file_fails_the_script_naming_the_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    data = tmp_path / "input.data"
    data.write_bytes(content)
    code = preprocess.main(["--input-data", str(data), "--output-dir", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("PrepareData: ") and len(err.strip().splitlines()) == 1
    assert message in err, err
    assert not (tmp_path / "out").exists()


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(st.integers(0, MAX_LINE + 3), max_size=12),
    trailing_newline=st.booleans(),
    chunk=st.integers(1, 3000),
)
def test_read_rows_finds_the_first_long_line_across_chunk_boundaries(
    lines: list[int], trailing_newline: bool, chunk: int
) -> None:
    raw = b"\n".join(b"x" * length for length in lines) + (b"\n" if trailing_newline else b"")
    first_long = next((number for number, length in enumerate(lines, 1) if length > MAX_LINE), None)
    original, preprocess._CHUNK = preprocess._CHUNK, chunk
    try:
        if first_long is None:
            assert read_rows(io.BytesIO(raw)) == raw
        else:
            with pytest.raises(DataError, match=rf"^row {first_long} is longer than {MAX_LINE} characters"):
                read_rows(io.BytesIO(raw))
    finally:
        preprocess._CHUNK = original


def gigabyte_line(path: Path) -> Path:
    """A 1 GB file holding one line: a plausible start, then zeros (a hole, so nothing is written), a newline."""
    with path.open("wb") as out:
        out.write(b"M,0.455,0.365,0.095,")
        out.seek(GIGABYTE - 1)
        out.write(b"\n")
    return path


def test_a_1_gigabyte_line_fails_fast_in_bounded_memory(tmp_path: Path) -> None:
    data = gigabyte_line(tmp_path / "one-line.data")
    assert data.stat().st_size == GIGABYTE
    probe = (
        "import sys\n"
        "from showcase import preprocess\n"
        "code = preprocess.main(sys.argv[1:])\n"
        # VmHWM, this process's own peak: ru_maxrss would carry over the forking parent's (pytest's) peak.
        "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')).split()[1]\n"
        "print('maxrss_kb', peak, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "--input-data", str(data), "--output-dir", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(),
    )
    assert result.returncode == 1
    assert "PrepareData: row 1 is longer than 1024 characters" in result.stderr
    peak_mb = int(re.search(r"maxrss_kb (\d+)", result.stderr).group(1)) / 1024  # type: ignore[union-attr]
    print(f"\npeak RSS refusing a 1 GB line: {peak_mb:.0f} MB")
    assert peak_mb < MAX_RSS_MB


def test_the_pipeline_fails_its_prepare_step_on_a_1_gigabyte_line(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, abalone_path: Path
) -> None:
    definition, uploads = build_definition(tmp_path_factory.getbasetemp() / "reliability-definition", abalone_path)
    home = prepare_home(tmp_path / "home", uploads)
    data = gigabyte_line(tmp_path / "one-line.data")
    result = subprocess.run(
        local_cli(home, *start_args(definition, f"InputData={data}")),
        capture_output=True,
        text=True,
        timeout=180,
        env=clean_env(),
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    (execution,) = (home / "executions").iterdir()
    record = read_record(home, execution.name)
    steps = {step["name"]: step for step in record["steps"]}
    assert steps["PrepareData"]["status"] == "Failed"
    assert "row 1 is longer than 1024 characters" in steps["PrepareData"]["failure_reason"]
    assert steps["TrainModel"]["status"] == "NotStarted"
    assert "row 1 is longer than 1024 characters" in result.stdout + result.stderr
    assert steps["RegisterModel"]["status"] == "NotStarted" and "ModelPackageArn" not in json.dumps(record)
