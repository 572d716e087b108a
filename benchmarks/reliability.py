#!/usr/bin/env python3
"""Reliability and security figures: load held, faults survived, bad inputs refused. Prints tables; asserts nothing.

    python benchmarks/reliability.py [--clients 64] [--seconds 5] [--workers 2]

Everything runs on loopback (127.0.0.1) under a temporary state home:

- **load**: the endpoint (gunicorn + uvicorn workers) under N concurrent keep-alive clients sending one CSV row
  each for a fixed time; requests, errors, throughput, p50/p99 latency, and each worker's RSS before and after;
  then the same load while one worker is SIGKILLed half-way (a killed worker's in-flight requests fail with
  it: those are counted, and whether the arbiter replaced the worker);
- **faults**: the pipeline runner SIGKILLed during training then retried, an object-store write and a
  registration killed half-way, the registry held by another process, a corrupt model deployed;
- **the runner**: its own cost per step on long definitions (chains of Condition steps, so that no job runs), and
  Ctrl-C during a long training: seconds until the runner exits and until the job's process group is gone;
- **bad inputs**: malformed request bodies against the real server by category, hostile model archives through
  every loader, bad pipeline input files through the prepare step (a 1 GB line with its peak memory);
- **connections that never finish**: a 200 MB header on one connection (the status answered, how much the
  client sent before the server closed, each worker's RSS before and after), and 300 sockets sending a
  request head a line a second (how many the server still holds along the way, and what it answered them).

``--connections-only`` runs the last part alone (a minute): ``--flood-mb`` and ``--slow-sockets`` size it.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO))

from tests.reliability_support import (  # noqa: E402
    build_definition,
    clean_env,
    local_cli,
    prepare_home,
    read_record,
    rss_mb,
    run_load,
    start_args,
)
from tests.serving_support import ROW, RunningServer, cli, register, serving, train_booster, write_config  # noqa: E402

from showcase import preprocess  # noqa: E402
from showcase.archives import ArchiveError, extract_model_archive  # noqa: E402
from showcase.evaluate import EvaluationError, load_booster  # noqa: E402
from showcase.registry import Registry  # noqa: E402
from showcase.serving.errors import ModelLoadError  # noqa: E402
from showcase.serving.model import extract_and_check  # noqa: E402
from showcase.store import ObjectStore  # noqa: E402

ABALONE = Path(os.environ.get("SHOWCASE_TEST_DATA") or REPO / "data" / "abalone.data")


def table(title: str, header: list[str], rows: list[list[object]]) -> None:
    cells = [header, *[[str(cell) for cell in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))


def expected() -> str:
    import numpy as np

    return f"{float(train_booster().inplace_predict(np.array([[float(v) for v in ROW.split(',')]]))[0])}\n"


# -- load ---------------------------------------------------------------------------------------------------


def load(server: RunningServer, clients: int, seconds: float) -> list[list[object]]:
    rows: list[list[object]] = []
    run_load(server.port, ROW, expected(), clients=4, seconds=0.5)
    workers = server.workers()
    before = {pid: rss_mb(pid) for pid in workers}
    result = run_load(server.port, ROW, expected(), clients=clients, seconds=seconds)
    after = {pid: rss_mb(pid) for pid in workers}
    rss = ", ".join(f"{before[p]:.0f}->{after[p]:.0f}" for p in workers)
    rows.append(["steady", *_figures(result), rss, "same" if server.workers() == workers else "CHANGED"])

    victim = server.workers()[0]
    killer = threading.Timer(seconds / 2, os.kill, args=(victim, signal.SIGKILL))
    killer.start()
    result = run_load(server.port, ROW, expected(), clients=clients, seconds=seconds)
    killer.join()
    for _ in range(200):
        now = server.workers()
        if len(now) == len(workers) and victim not in now:
            break
        time.sleep(0.05)
    replaced = "replaced" if victim not in server.workers() and len(server.workers()) == len(workers) else "NOT"
    rows.append(["worker killed", *_figures(result), "-", replaced])
    return rows


def _figures(result: object) -> list[object]:
    from tests.reliability_support import LoadResult

    assert isinstance(result, LoadResult)
    return [
        result.clients,
        f"{result.seconds:g}",
        result.requests,
        len(result.errors),
        f"{result.requests / result.seconds:.0f}",
        f"{result.percentile_ms(50):.2f}",
        f"{result.percentile_ms(99):.2f}",
    ]


# -- faults -------------------------------------------------------------------------------------------------


def killed_runner(root: Path) -> list[object]:
    definition, uploads = build_definition(root / "definition", ABALONE)
    home = prepare_home(root / "runner-home", uploads)
    args = start_args(definition, "NumRound=4000", "Eta=0.01", "MseThreshold=1000")
    runner = subprocess.Popen(
        local_cli(home, *args), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=clean_env()
    )
    execution = None
    for _ in range(1200):
        found = list((home / "executions").glob("*/steps/TrainModel.log")) if (home / "executions").is_dir() else []
        if found and found[0].read_text().count("\n") > 100:
            execution = found[0].parents[1].name
            break
        time.sleep(0.05)
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait(timeout=30)
    assert execution is not None
    shown = subprocess.run(local_cli(home, "describe", execution), capture_output=True, text=True, env=clean_env())
    interrupted = "interrupted" in shown.stdout
    models = [u for u in ObjectStore(home / "store").list("s3://showcase-local/") if u.endswith("model.tar.gz")]
    registry = Registry(home / "registry.sqlite") if (home / "registry.sqlite").exists() else None
    rows_before = len(registry.list_model_packages()["ModelPackageSummaryList"]) if registry else 0
    retry = subprocess.run(local_cli(home, "retry", execution), capture_output=True, text=True, env=clean_env())
    status = read_record(home, execution)["status"]
    outcome = (
        f"{'Failed (interrupted)' if interrupted else 'NOT shown interrupted'}; {len(models)} model objects, "
        f"{rows_before} registry rows; retry exit {retry.returncode} -> {status}"
    )
    return ["runner SIGKILLed mid-training", outcome]


def killed_store_write(root: Path) -> list[object]:
    from tests.test_reliability_faults import KILLED_WRITE

    source = root / "blob"
    source.write_bytes(os.urandom(4 << 20))
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITE, str(root / "store"), str(source)],
                              stdout=subprocess.PIPE, env=clean_env())  # fmt: skip
    assert writer.stdout is not None
    writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    listed = ObjectStore(root / "store").list("s3://bucket/")
    return ["object-store write SIGKILLed at 1 of 4 MiB", f"{len(listed)} objects listed (temp file hidden)"]


def killed_registration(root: Path) -> list[object]:
    from tests.test_reliability_faults import KILLED_REGISTRATION

    path = root / "killed.sqlite"
    Registry(path)
    writer = subprocess.Popen([sys.executable, "-c", KILLED_REGISTRATION, str(path)], stdout=subprocess.PIPE,
                              env=clean_env())  # fmt: skip
    assert writer.stdout is not None
    writer.stdout.readline()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=30)
    registry = Registry(path)
    left = len(registry.list_model_packages()["ModelPackageSummaryList"])
    version = registry.create_model_package(ModelPackageGroupName="g")["ModelPackageArn"].rsplit("/", 1)[1]
    return ["registration SIGKILLed before commit", f"{left} rows left; the next registration is version {version}"]


def locked_registry(root: Path) -> list[object]:
    from tests.test_reliability_faults import HOLDER

    path = root / "locked" / "registry.sqlite"
    Registry(path).create_model_package(ModelPackageGroupName="g")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, env=clean_env())  # fmt: skip
    assert holder.stdout is not None and holder.stdin is not None
    holder.stdout.readline()
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "showcase", "registry", "--home", str(path.parent), "--busy-timeout", "1",
         "approve", "g/1"], capture_output=True, text=True, env=clean_env(),
    )  # fmt: skip
    waited = time.monotonic() - started
    holder.stdin.write("go\n")
    holder.stdin.flush()
    holder.wait(timeout=30)
    named = f"PID {holder.pid}" in result.stderr
    return [
        "registry held by another process (--busy-timeout 1)",
        f"exit {result.returncode} after {waited:.1f} s, {'names' if named else 'does NOT name'} the holder",
    ]


# -- the runner --------------------------------------------------------------------------------------------


def chain_definition(path: Path, steps: int) -> Path:
    """A chain of ``steps`` Condition steps, each depending on the one before: the engine's and the record's work
    alone, no job process."""
    check = {"Type": "Equals", "LeftValue": 1, "RightValue": 1}
    chain = [
        {"Name": f"Gate{i}", "Type": "Condition", "Arguments": {"Conditions": [check], "IfSteps": [], "ElseSteps": []},
         **({"DependsOn": [f"Gate{i - 1}"]} if i else {})}
        for i in range(steps)
    ]  # fmt: skip
    path.write_text(json.dumps({"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": chain}))
    return path


def run_overhead(root: Path, sizes: list[int]) -> list[list[object]]:
    """``showcase-local start`` of each chain, its progress lines written to /dev/null; less a 1-step run (start-up).
    A chain over SageMaker's definition size limit (1,048,576 characters) is refused before it runs: its row says so."""
    rows: list[list[object]] = []

    def wall(steps: int) -> tuple[float, int, str]:
        home = root / f"chain-home-{steps}"
        definition = chain_definition(root / f"chain-{steps}.json", steps)
        started = time.monotonic()
        result = subprocess.run(local_cli(home, "start", "--definition", str(definition)), stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, env=clean_env())  # fmt: skip
        elapsed = time.monotonic() - started
        if result.returncode != 0:
            return elapsed, definition.stat().st_size, result.stderr.strip().splitlines()[-1]
        (record,) = (home / "executions").glob("*/execution.json")
        return elapsed, record.stat().st_size, ""

    floor, _, _ = wall(1)
    for steps in sizes:
        seconds, size, refused = wall(steps)
        if refused:
            rows.append([f"{steps:,} Condition steps ({size / 1e6:.2f} MB)", f"{seconds:.2f}", "-", refused[:90]])
            continue
        per_step = (seconds - floor) / (steps - 1) * 1000
        rows.append([f"{steps:,} Condition steps", f"{seconds:.2f}", f"{per_step:.2f}", f"{size / 1e6:.2f}"])
    rows.append(["1 Condition step (start-up)", f"{floor:.2f}", "-", "-"])
    return rows


def ctrl_c_exit(root: Path) -> list[object]:
    """The runner trains for long (200,000 rounds); SIGINT once TrainModel logs rounds."""
    import psutil

    definition, uploads = build_definition(root / "definition", ABALONE)
    home = prepare_home(root / "ctrl-c-home", uploads)
    args = start_args(definition, "NumRound=200000", "Eta=0.01")
    runner = subprocess.Popen(
        local_cli(home, *args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=clean_env()
    )
    for _ in range(2400):
        logs = list((home / "executions").glob("*/steps/TrainModel.log")) if (home / "executions").is_dir() else []
        if logs and "]#011train-rmse:" in logs[0].read_text():
            break
        time.sleep(0.05)
    groups = {
        child.pid for child in psutil.Process(runner.pid).children(recursive=True) if child.pid == os.getpgid(child.pid)
    }
    started = time.monotonic()
    runner.send_signal(signal.SIGINT)
    _, stderr = runner.communicate(timeout=300)
    exited = time.monotonic() - started

    def alive(group: int) -> bool:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return False
        return True

    while any(alive(group) for group in groups) and time.monotonic() - started < 300:
        time.sleep(0.01)
    gone = time.monotonic() - started
    said = "says id + retry" if "showcase-local retry" in stderr and "Traceback" not in stderr else "NOT said"
    return ["Ctrl-C during TrainModel (200,000 rounds)", f"exit {runner.returncode} after {exited:.2f} s; "
            f"its process groups (job, job server: {len(groups)}) gone after {gone:.2f} s; {said}"]  # fmt: skip


def corrupt_deploy(server: RunningServer, root: Path) -> list[object]:
    home = server.paths.root.parents[1]
    arn = register(home, b"\x00\x01 not a model", group="Corrupt")
    result = cli(home, "deploy", "--config", str(write_config(root / "corrupt.json", arn)))
    serving_status = server.invoke(ROW)[0]
    reason = result.stderr.strip().split(": ", 2)[-1][:58]
    return ["corrupt model deployed", f"exit {result.returncode} ({reason}...); old model answers {serving_status}"]


# -- bad inputs -------------------------------------------------------------------------------------------


def bad_requests(server: RunningServer, per_category: int) -> list[list[object]]:
    rng = random.Random(7)
    fields = ROW.split(",")

    def row(width: int) -> str:
        return ",".join(rng.choice(fields) for _ in range(width))

    categories = {
        "wrong column count": lambda: "\n".join(row(rng.choice([0, 1, 9, 11, 50])) for _ in range(rng.randint(1, 5))),
        "non-numeric field": lambda: row(9) + "," + rng.choice(["abc", "1_0", "0x10", "--1", '"1"', "\x00"]),
        "NaN / inf": lambda: row(9) + "," + rng.choice(["nan", "NaN", "inf", "-inf", "Infinity", "1e999"]),
        "huge numbers": lambda: ",".join(rng.choice(["1e308", "-1e308", "1e39", "9" * 300]) for _ in range(10)),
        "empty lines": lambda: rng.choice(["", "\n", "\n\n\n", " \n \n"]) + ROW + rng.choice(["", "\n\n", "\r\n"]),
        "invalid UTF-8": lambda: ROW[:10] + bytes([rng.randint(0x80, 0xFF)]).decode("latin-1") + ROW[10:],
        "enormous line (1-5 MB)": lambda: "1," * rng.randint(500_000, 2_500_000),
        "over 6 MiB": lambda: "1" * (6 * 1024 * 1024 + rng.randint(1, 1000)),
        "wrong content type": lambda: ROW,
    }
    workers = server.workers()
    rows: list[list[object]] = []
    for name, make in categories.items():
        statuses: Counter[int] = Counter()
        explained = 0
        count = per_category if "MB" not in name and "MiB" not in name else max(3, per_category // 20)
        for _ in range(count):
            body = make()
            data = body.encode("latin-1") if name == "invalid UTF-8" else body.encode()
            content_type = rng.choice(["application/json", "image/png", "text/plain"]) if "type" in name else "text/csv"
            status, _, answer = server.request("POST", "/invocations", data, {"Content-Type": content_type})
            statuses[status] += 1
            explained += status < 400 or bool(re.search(rb"row \d+|body|UTF-8|Content-Type|bytes", answer))
        five = sum(n for s, n in statuses.items() if s >= 500)
        outcome = ", ".join(f"{s}x{n}" for s, n in sorted(statuses.items()))
        rows.append([f"/invocations: {name}", count, outcome, five, f"{explained}/{count}"])
    alive = "all alive" if server.workers() == workers else "a worker DIED"
    rows.append(["/invocations: workers after all of the above", "-", alive, "-", "-"])
    return rows


def hostile_archives(root: Path) -> list[list[object]]:
    from tests.test_security_archives import HOSTILE, HOSTILE_MODEL, archive, good_model

    rows: list[list[object]] = []
    for case in [*HOSTILE, *HOSTILE_MODEL]:
        hostile = HOSTILE[case][0] if case in HOSTILE else HOSTILE_MODEL[case]
        members = [good_model(), hostile] if case in HOSTILE else [hostile]
        tar = archive(root / "archives" / case / "model.tar.gz", *members)
        verdicts = []
        where = root / "x" / case
        loaders = [
            ("archives", lambda tar=tar, where=where: extract_model_archive(tar, where / "a"), ArchiveError),
            ("serving", lambda tar=tar, where=where: extract_and_check(tar, where / "s", model_package_arn="a"),
             ModelLoadError),
            ("evaluate", lambda tar=tar: load_booster(tar.parent), EvaluationError),
        ]  # fmt: skip
        for loader, call, error in loaders:
            try:
                call()
            except error:
                verdicts.append(f"{loader}: refused")
            else:
                accepted = {"evaluate": "read the model only", "archives": "extracted (no member escapes)"}
                verdicts.append(f"{loader}: {accepted.get(loader, 'ACCEPTED')}")
        rows.append([f"archive: {case}", 1, "; ".join(verdicts), 0, "-"])
    return rows


def bad_input_files(root: Path) -> list[list[object]]:
    good = "M,0.455,0.365,0.095,0.514,0.2245,0.101,0.15,15\n"
    files = {
        "empty file": b"",
        "header row": ("sex,length,diameter,height,a,b,c,d,rings\n" + good * 30).encode(),
        "wrong columns": (good.strip() + ",x\n").encode() * 30,
        "NaN": (good * 30 + "M,nan,0.365,0.095,0.514,0.2245,0.101,0.15,15\n").encode(),
    }
    rows: list[list[object]] = []
    for name, content in files.items():
        path = root / "inputs" / name.replace(" ", "-")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            code = preprocess.main(["--input-data", str(path), "--output-dir", str(root / "out")])
        rows.append([f"input data: {name}", 1, f"exit {code}: {err.getvalue().strip()[13:80]}", 0, "-"])
    big = root / "inputs" / "one-line.data"
    with big.open("wb") as out:
        out.write(b"M,0.455,")
        out.seek((1 << 30) - 1)
        out.write(b"\n")
    probe = (
        "import sys\nfrom showcase import preprocess\ncode = preprocess.main(sys.argv[1:])\n"
        "peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM:')).split()[1]\n"
        "print(int(peak) // 1024, file=sys.stderr)\nsys.exit(code)\n"
    )
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-c", probe, "--input-data", str(big), "--output-dir", str(root / "o")],
                            capture_output=True, text=True, env=clean_env())  # fmt: skip
    message, peak = result.stderr.strip().splitlines()
    elapsed = time.monotonic() - started
    rows.append([
        "input data: one 1 GB line", 1,
        f"exit {result.returncode} in {elapsed:.1f} s, peak {peak} MB: {message[13:62]}", 0, "-",
    ])  # fmt: skip
    return rows


# -- definition parsing -------------------------------------------------------------------------------------------


def generated_definition(shape: str, steps: int) -> dict[str, Any]:
    """``steps`` steps in one of three shapes, through the real executors' checks.

    chain: Processing steps, each reading the previous one's output and declaring a PropertyFile ``Report``,
    every tenth followed by a Condition on that report (Std:JsonGet) with a Fail in its ElseSteps;
    fan: one Processing step and Processing steps that all read it, each with ``DependsOn`` on it;
    evaluations: pairs of a Processing step declaring a PropertyFile of its own and a Condition reading it by
    its name alone (``{"PropertyFileName": ...}``, which the parser must look up among all the steps' files).
    """

    def processing(name: str, source: str | dict[str, str], files: list[dict[str, str]]) -> dict[str, Any]:
        arguments = {
            "AppSpecification": {"ImageUri": IMAGE, "ContainerEntrypoint": ["python3", f"{CODE}/run.py"]},
            "ProcessingInputs": [{"InputName": "in", "S3Input": {"S3Uri": source, "LocalPath": IN}}],
            "ProcessingOutputConfig": {
                "Outputs": [{"OutputName": "out", "S3Output": {"S3Uri": f"s3://b/{name}", "LocalPath": OUT}}]
            },
        }
        return {"Name": name, "Type": "Processing", "Arguments": arguments, "PropertyFiles": files}

    def output_of(name: str) -> dict[str, str]:
        return {"Get": f"Steps.{name}.ProcessingOutputConfig.Outputs['out'].S3Output.S3Uri"}

    report = [{"PropertyFileName": "Report", "OutputName": "out", "FilePath": "report.json"}]
    listed: list[dict[str, Any]] = []
    if shape == "chain":
        listed.append(processing("P0", "s3://b/in", report))
        while len(listed) < steps:
            index = len(listed)
            if index % 10 == 9:
                source = {"Get": f"Steps.{listed[-1]['Name']}.PropertyFiles.Report"}
                check = {"Type": "LessThan", "LeftValue": {"Std:JsonGet": {"PropertyFile": source, "Path": "mse"}},
                         "RightValue": 7.5}  # fmt: skip
                fail = {"Name": f"F{index}", "Type": "Fail", "Arguments": {"ErrorMessage": "mse too high"}}
                listed.append({"Name": f"C{index}", "Type": "Condition",
                               "Arguments": {"Conditions": [check], "IfSteps": [], "ElseSteps": [fail]}})  # fmt: skip
            else:
                previous = next(step["Name"] for step in reversed(listed) if step["Type"] == "Processing")
                listed.append(processing(f"P{index}", output_of(previous), report))
    elif shape == "fan":
        listed.append(processing("Root", "s3://b/in", []))
        listed += [processing(f"Leaf{i}", output_of("Root"), []) | {"DependsOn": ["Root"]} for i in range(1, steps)]
    else:
        while len(listed) < steps:
            index = len(listed)
            named = [{"PropertyFileName": f"Metrics{index}", "OutputName": "out", "FilePath": "metrics.json"}]
            listed.append(processing(f"E{index}", "s3://b/in", named))
            value = {"Std:JsonGet": {"PropertyFile": {"PropertyFileName": f"Metrics{index}"}, "Path": "mse"}}
            check = {"Type": "GreaterThan", "LeftValue": value, "RightValue": 7.5}
            listed.append({"Name": f"C{index}", "Type": "Condition", "DependsOn": [f"E{index}"],
                           "Arguments": {"Conditions": [check], "IfSteps": [], "ElseSteps": []}})  # fmt: skip
    return {"Version": "2020-12-01", "Metadata": {}, "Parameters": [], "Steps": listed}


IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
CODE, IN, OUT = "/opt/ml/processing/code", "/opt/ml/processing/in", "/opt/ml/processing/out"


def definition_parsing() -> list[list[object]]:
    """``definition.parse`` on generated definitions (best of 3), and where SageMaker's 1 MiB limit refuses."""
    import json

    from showcase.errors import DefinitionError
    from showcase.local.definition import MAX_DEFINITION_CHARS, parse
    from showcase.local.steps import STEP_TYPES

    rows: list[list[object]] = []
    for shape in ("chain", "fan", "evaluations"):
        for steps in (1_000, 10_000):
            raw = generated_definition(shape, steps)
            size = len(json.dumps(raw))
            times = []
            for _ in range(3):
                started = time.perf_counter()
                parse(raw, STEP_TYPES, max_chars=None)  # the whole parse but the size gate, at any size
                times.append(time.perf_counter() - started)
            try:
                parse(raw, STEP_TYPES)
                verdict = "runs"
            except DefinitionError as exc:
                verdict = "refused (over 1 MiB)" if "limit of" in str(exc) else f"refused: {exc}"
            best = min(times)
            rows.append([shape, steps, f"{size / 2**20:.2f} MiB", f"{best * 1000:.0f} ms",
                         f"{best / steps * 1e6:.1f} us", verdict])  # fmt: skip
        low, high = 1, 10_000
        while low < high:  # the fewest steps of this shape over the limit
            middle = (low + high) // 2
            if len(json.dumps(generated_definition(shape, middle))) > MAX_DEFINITION_CHARS:
                high = middle
            else:
                low = middle + 1
        limit_size = len(json.dumps(generated_definition(shape, low)))
        rows.append([shape, low, f"{limit_size:,} chars", "-", "-", "the first size refused by the 1 MiB limit"])
    return rows


# -- connections that never finish --------------------------------------------------------------------------


def header_flood(server: RunningServer, megabytes: int) -> list[object]:
    """One connection sending a request whose one header is ``megabytes`` long, as fast as loopback takes it;
    each worker's RSS is sampled every 0.1 s meanwhile (its largest value is shown)."""
    workers = server.workers()
    before = {pid: rss_mb(pid) for pid in workers}
    peak = dict(before)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            for pid in workers:
                with contextlib.suppress(psutil.NoSuchProcess):
                    peak[pid] = max(peak[pid], rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent, answer = 0, b""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
        chunk = b"a" * 65536
        with contextlib.suppress(OSError):
            while sent < megabytes << 20:
                sock.sendall(chunk)
                sent += len(chunk)
        with contextlib.suppress(OSError):
            answer = sock.recv(65536)
    done.set()
    sampler.join()
    status = answer.split(b"\r\n", 1)[0].decode(errors="replace") or "no answer within 30 s"
    rss = ", ".join(f"{before[pid]:.0f}->{peak[pid]:.0f}" for pid in workers)
    gone = [pid for pid in workers if pid not in server.workers()]
    replaced = f"; {len(gone)} worker(s) died and were replaced" if gone else ""
    return [
        f"one {megabytes} MB header",
        f"{status} after {sent / 1e6:.1f} MB sent; worker RSS MB (peak) {rss}{replaced}",
    ]


def slow_clients(server: RunningServer, count: int, seconds: float = 20.0) -> list[list[object]]:
    """``count`` connections sending a request head a header line a second, for ``seconds``."""
    sockets = {socket.create_connection(("127.0.0.1", server.port), timeout=30): b"" for _ in range(count)}
    for sock in sockets:
        sock.sendall(b"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    started = time.monotonic()
    open_, line = set(sockets), 0
    checkpoints, held = [1.0, 5.0, 9.0, 11.0, 15.0], []
    while (elapsed := time.monotonic() - started) < seconds:
        readable, _, _ = select.select(list(open_), [], [], 0.2)
        for sock in readable:
            chunk = b""
            with contextlib.suppress(OSError):
                chunk = sock.recv(65536)
            sockets[sock] += chunk
            if not chunk:
                open_.discard(sock)
        if elapsed >= line:  # one more header line a second on every socket the server still holds
            line += 1
            for sock in list(open_):
                try:
                    sock.sendall(f"X-Slow-{line}: {line}\r\n".encode())
                except OSError:
                    open_.discard(sock)
        while checkpoints and elapsed >= checkpoints[0]:
            held.append((checkpoints.pop(0), len(open_)))
    answered = Counter(
        "still held" if sock in open_ else data.split(b"\r\n", 1)[0].decode(errors="replace") or "closed, no answer"
        for sock, data in sockets.items()
    )
    for sock in sockets:
        sock.close()
    along = "; ".join(f"{n} at {t:g} s" for t, n in held)
    outcome = ", ".join(f"{n}x {status}" for status, n in answered.most_common())
    return [
        [f"{count} slow heads (a line a second): sockets held", along],
        [f"{count} slow heads: after {seconds:g} s", outcome],
    ]


def connections(server: RunningServer, flood_mb: int, slow_sockets: int) -> None:
    workers = server.workers()
    rows = [header_flood(server, flood_mb), *slow_clients(server, slow_sockets)]
    rows.append(["workers after both", "the same" if server.workers() == workers else "CHANGED"])
    table("Connections that never finish (the endpoint's workers)", ["client", "outcome"], rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--per-category", type=int, default=60, help="malformed requests per category")
    parser.add_argument("--flood-mb", type=int, default=200, help="size of the one-header flood (default: 200)")
    parser.add_argument("--slow-sockets", type=int, default=300, help="slow-head connections (default: 300)")
    parser.add_argument("--connections-only", action="store_true", help="only the connections that never finish")
    parser.add_argument("--chains", type=int, nargs="*", default=[1000, 5000, 10000], help="Condition steps per chain")
    parser.add_argument("--runner-only", action="store_true", help="only the runner's rows (no endpoint, no faults)")
    args = parser.parse_args()
    if args.runner_only:
        with tempfile.TemporaryDirectory(prefix="showcase-reliability-") as temp:
            runner_tables(Path(temp), args.chains)
        return 0
    with tempfile.TemporaryDirectory(prefix="showcase-reliability-") as temp:
        root = Path(temp)
        home = root / "endpoint-home"
        config = write_config(root / "config.json", register(home, train_booster()))
        if args.connections_only:
            with serving(home, config, workers=args.workers) as server:
                connections(server, args.flood_mb, args.slow_sockets)
            return 0
        with serving(home, config, workers=args.workers) as server:
            load_rows = load(server, args.clients, args.seconds)
            table(
                f"Load: the endpoint, {args.workers} workers, loopback, one CSV row per request",
                ["run", "clients", "s", "requests", "errors", "req/s", "p50 ms", "p99 ms", "RSS MB per worker",
                 "workers"],
                load_rows,
            )  # fmt: skip
            faults = [corrupt_deploy(server, root)]
            input_rows = bad_requests(server, args.per_category)
            connections(server, args.flood_mb, args.slow_sockets)
        faults += [killed_runner(root), killed_store_write(root), killed_registration(root), locked_registry(root)]
        table("Faults", ["fault", "outcome"], faults)
        input_rows += hostile_archives(root) + bad_input_files(root)
        table("Bad inputs", ["input", "tried", "outcome", "5xx", "explained"], input_rows)
        runner_tables(root, args.chains)
    table(
        "Definition parsing: definition.parse with the real executors' checks, best of 3",
        ["shape", "steps", "size", "parse", "per step", "at SageMaker's limit"],
        definition_parsing(),
    )
    return 0


def runner_tables(root: Path, chains: list[int]) -> None:
    header = ["definition", "wall s", "ms per step", "execution.json MB (or why refused)"]
    table("The runner: its own cost per step (showcase-local start, progress to /dev/null)", header,
          run_overhead(root, chains))  # fmt: skip
    table("The runner: Ctrl-C", ["fault", "outcome"], [ctrl_c_exit(root)])


if __name__ == "__main__":
    sys.exit(main())
