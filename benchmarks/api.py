#!/usr/bin/env python3
"""Benchmark ``showcase-local api``: its start-up, and GET and PUT of a large object through it.

    python benchmarks/api.py [--size-mb 100] [--runs 5] [--starts 5]

Measures, on loopback, with a fresh home in a temporary directory:
- start-up: from starting ``showcase-local api --port 0`` to its first answered request (a ListBuckets over plain
  HTTP), the median and range of ``--starts`` starts; and the time from the start until it prints its URL;
- PUT and GET of one ``--size-mb`` MB object, each ``--runs`` times, in MB/s (10^6 bytes), three ways:
  - ``http.client``: one request with the body streamed from a file, and the answer read in 1 MiB chunks, unsigned
    and without checksums: what the server and the loopback carry;
  - boto3 ``put_object`` / ``get_object`` with the body from a file: one request each, signed, with botocore's
    default CRC32 checksum over the body (the API verifies it as the body streams in);
  - boto3's transfer manager (``upload_file`` / ``download_file``): 8 MiB parts in 10 threads, as ``aws s3 cp``;
- the server's CPU seconds per PUT and per GET (from the kernel's accounting of its process), against the wall time;
- a job's input: the seconds a job's own ``boto3.resource("s3").Bucket(b).download_file(key, fn)`` takes for the
  ``--size-mb`` MB object, in a process with a job's environment (``awsapi.job_environment``; timed inside it,
  not counting its interpreter's start), against the runner staging the same object (``ObjectStore.download``,
  the copy from the store a ProcessingInput gets), and their ratio; with the job's CPU seconds (all its threads)
  and the server's, and the same download, in the same run, from two peers: moto's own server
  (``ThreadedMotoServer``, the object in its memory) and a plain static file server (the standard library's
  threaded HTTP server answering HEAD and single ranges of the same file with ``os.sendfile``): what boto3's
  download costs when the server does next to nothing; and the job's single ``get_object`` of the whole object
  from the API (its body written as it comes), what the server delivers to one plain reader. ``--profile`` also
  prints where the job's threads spent a ``download_file`` from the API (cProfile in each thread, merged).

The object is written through the store's atomic writer, synced to disk before it is in place, so a PUT's figure
includes an fsync of the whole object. Prints a table; asserts nothing.
"""

from __future__ import annotations

import argparse
import http.client
import http.server
import json
import logging
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
MB = 1_000_000
CHUNK = 1024 * 1024


def start(home: Path) -> tuple[subprocess.Popen[str], str, float, float]:
    """The API's process, its URL, the seconds until it printed its URL and until it answered a request."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "showcase", "--home", str(home), "api", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=REPO,
    )  # fmt: skip
    assert process.stdout is not None
    url = process.stdout.readline().split()[3]
    printed = time.perf_counter() - began
    port = int(url.rsplit(":", 1)[1])
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return process, url, printed, time.perf_counter() - began
        except OSError:
            time.sleep(0.005)


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.wait(timeout=30)


def startup(starts: int) -> None:
    printed, answered = [], []
    for _ in range(starts):
        with tempfile.TemporaryDirectory() as home:
            process, _, first_line, first_answer = start(Path(home))
            stop(process)
            printed.append(first_line)
            answered.append(first_answer)
    print(f"start-up, {starts} starts (median [min-max] seconds)")
    print(f"  URL printed          {_spread(printed, 3)}")
    print(f"  first request served {_spread(answered, 3)}")


def _spread(values: list[float], digits: int) -> str:
    return f"{statistics.median(values):.{digits}f} [{min(values):.{digits}f}-{max(values):.{digits}f}]"


def raw_put(port: int, source: Path) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300, blocksize=CHUNK)
    with source.open("rb") as body:
        connection.request(
            "PUT", "/bench/object.bin", body=body,
            headers={"Host": f"127.0.0.1:{port}", "Content-Length": str(source.stat().st_size)},
        )  # fmt: skip
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
    connection.close()


def raw_get(port: int, size: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("GET", "/bench/object.bin", headers={"Host": f"127.0.0.1:{port}"})
    response = connection.getresponse()
    received = 0
    while chunk := response.read(CHUNK):
        received += len(chunk)
    assert received == size, received
    connection.close()


def measure(label: str, runs: int, size: int, server: psutil.Process, action: Callable[[], None]) -> None:
    speeds, cpu = [], []
    for _ in range(runs):
        before = sum(server.cpu_times()[:2])
        began = time.perf_counter()
        action()
        elapsed = time.perf_counter() - began
        cpu.append(sum(server.cpu_times()[:2]) - before)
        speeds.append(size / MB / elapsed)
    print(f"  {label:<34} {_spread(speeds, 0):>22} MB/s   server CPU {statistics.median(cpu):.2f} s")


def transfers(size_mb: int, runs: int) -> None:
    import boto3
    from boto3.s3.transfer import TransferConfig

    with tempfile.TemporaryDirectory() as scratch:
        home, source, target = Path(scratch) / "home", Path(scratch) / "source.bin", Path(scratch) / "target.bin"
        size = size_mb * MB
        with source.open("wb") as out:
            for _ in range(size_mb):
                out.write(os.urandom(MB))
        process, url, _, _ = start(home)
        try:
            server = psutil.Process(process.pid)
            port = int(url.rsplit(":", 1)[1])
            s3 = boto3.client(
                "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
                aws_secret_access_key="bench",
            )  # fmt: skip
            s3.create_bucket(Bucket="bench")
            config = TransferConfig()  # 8 MiB parts, 10 threads: the AWS CLI's defaults too
            print(f"{size_mb} MB object, {runs} runs each (median [min-max])")
            measure("PUT  http.client, one request", runs, size, server, lambda: raw_put(port, source))
            measure("GET  http.client, one request", runs, size, server, lambda: raw_get(port, size))

            def boto_put() -> None:
                with source.open("rb") as body:
                    s3.put_object(Bucket="bench", Key="object.bin", Body=body)

            def boto_get() -> None:
                body = s3.get_object(Bucket="bench", Key="object.bin")["Body"]
                while body.read(CHUNK):
                    pass

            measure("PUT  boto3 put_object", runs, size, server, boto_put)
            measure("GET  boto3 get_object", runs, size, server, boto_get)
            measure(
                "PUT  boto3 upload_file (multipart)", runs, size, server,
                lambda: s3.upload_file(str(source), "bench", "object.bin", Config=config),
            )  # fmt: skip
            measure(
                "GET  boto3 download_file (ranges)", runs, size, server,
                lambda: s3.download_file("bench", "object.bin", str(target), Config=config),
            )  # fmt: skip
        finally:
            stop(process)


DOWNLOAD = """
import cProfile, io, json, pstats, sys, threading, time
import boto3
target, how, profiles = sys.argv[1], sys.argv[2], []
if len(sys.argv) > 3:  # --profile: every thread under cProfile (s3transfer's ten workers and its writer)
    run = threading.Thread.run
    def profiled(self):
        profile = cProfile.Profile()
        profiles.append(profile)
        profile.runcall(run, self)
    threading.Thread.run = profiled
s3 = boto3.resource("s3")
began, cpu = time.perf_counter(), time.process_time()
if how == "download_file":
    s3.Bucket("bench").download_file("object.bin", target)
else:  # one GetObject, its body written as it comes
    with open(target, "wb") as out:
        for chunk in s3.Object("bench", "object.bin").get()["Body"].iter_chunks(1024 * 1024):
            out.write(chunk)
seconds, cpu = time.perf_counter() - began, time.process_time() - cpu
top = io.StringIO()
if profiles:
    stats = pstats.Stats(profiles[0], stream=top)
    for profile in profiles[1:]:
        stats.add(profile)
    stats.sort_stats("tottime").print_stats(8)
print(json.dumps({"seconds": seconds, "cpu": cpu, "profile": top.getvalue()}))
"""

_RANGE = re.compile(r"bytes=(\d+)-(\d+)")


class _StaticFile(http.server.BaseHTTPRequestHandler):
    """HEAD and GET (one ``bytes=a-b`` range or the whole file) of one file, sent with ``os.sendfile``: the
    headers boto3's ``download_file`` reads (Content-Length, Content-Range, ETag, Accept-Ranges), nothing else."""

    protocol_version = "HTTP/1.1"
    path_of: Path

    def do_HEAD(self) -> None:
        self._answer(send=False)

    def do_GET(self) -> None:
        self._answer(send=True)

    def _answer(self, *, send: bool) -> None:
        size = self.path_of.stat().st_size
        match = _RANGE.fullmatch(self.headers.get("Range", ""))
        first, last = (int(match[1]), min(int(match[2]), size - 1)) if match else (0, size - 1)
        self.send_response(206 if match else 200)
        self.send_header("Content-Length", str(last - first + 1))
        if match:
            self.send_header("Content-Range", f"bytes {first}-{last}/{size}")
        self.send_header("ETag", '"static"')
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if send:
            with self.path_of.open("rb") as handle:
                offset, left = first, last - first + 1
                while left > 0:
                    sent = os.sendfile(self.connection.fileno(), handle.fileno(), offset, left)
                    offset, left = offset + sent, left - sent

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def static_server(path: Path) -> Iterator[str]:
    handler = type("Handler", (_StaticFile,), {"path_of": path})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        thread.join()


@contextmanager
def moto_server(source: Path) -> Iterator[str]:
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        url = "http://{}:{}".format(*server.get_host_and_port())
        s3 = boto3.client(
            "s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
            aws_secret_access_key="bench",
        )  # fmt: skip
        s3.create_bucket(Bucket="bench")
        s3.upload_file(str(source), "bench", "object.bin")
        yield url
    finally:
        server.stop()


def job_download(
    url: str, target: Path, server: psutil.Process, how: str = "download_file", *, profile: bool = False
) -> dict[str, float | str]:
    """A job's own download from ``url``: its seconds and CPU seconds (timed inside it), and the server's."""
    from showcase.local.processes.awsapi import job_environment
    from showcase.local.processes.commands import clean_environment

    shutil.rmtree(target, ignore_errors=True)
    target.mkdir()
    env = clean_environment(job_environment(url, "us-east-1"))
    job = [sys.executable, "-c", DOWNLOAD, str(target / "object.bin"), how, *(["profile"] if profile else [])]
    before = sum(server.cpu_times()[:2])
    out = json.loads(subprocess.run(job, env=env, capture_output=True, text=True, check=True).stdout)
    out["server"] = sum(server.cpu_times()[:2]) - before
    return out


def job_input(size_mb: int, runs: int, *, profile: bool) -> None:
    from showcase.store import ObjectStore

    with tempfile.TemporaryDirectory() as scratch:
        home, target = Path(scratch) / "home", Path(scratch) / "staged"
        store = ObjectStore(home / "store")
        with tempfile.TemporaryFile() as data:
            for _ in range(size_mb):
                data.write(os.urandom(MB))
            data.seek(0)
            store.put_bytes("s3://bench/object.bin", data.read())
        source = store.path_of("s3://bench/object.bin")
        process, url, _, _ = start(home)
        api, here = psutil.Process(process.pid), psutil.Process()  # the peers serve from threads of this process
        try:
            with moto_server(source) as moto_url, static_server(source) as static_url:
                rows = {
                    "download_file from the API": (url, api, "download_file"),
                    "download_file from moto's server": (moto_url, here, "download_file"),
                    "download_file from a static server": (static_url, here, "download_file"),
                    "get_object from the API (one request)": (url, api, "get_object"),
                }
                staged: list[float] = []
                fetched: dict[str, list[dict[str, float | str]]] = {label: [] for label in rows}
                for _ in range(runs):  # interleaved, so each sees the same load
                    shutil.rmtree(target, ignore_errors=True)
                    began = time.perf_counter()
                    store.download("s3://bench/object.bin", target)
                    staged.append(time.perf_counter() - began)
                    for label, (server_url, server, how) in rows.items():
                        fetched[label].append(job_download(server_url, target, server, how))
                profiled = job_download(url, target, api, profile=True) if profile else None
        finally:
            stop(process)
    print(f"a job's {size_mb} MB input, {runs} runs each (median [min-max] seconds; CPU seconds, medians)")
    print(f"  staged by the runner from the store        {_spread(staged, 3)}")
    for label, runs_of in fetched.items():
        seconds = [float(run["seconds"]) for run in runs_of]
        cpu = statistics.median(float(run["cpu"]) for run in runs_of)
        server_cpu = statistics.median(float(run["server"]) for run in runs_of)
        print(f"  {label:<42} {_spread(seconds, 3)}   job CPU {cpu:.2f}  server CPU {server_cpu:.2f}")
    median = {label: statistics.median(float(run["seconds"]) for run in runs_of) for label, runs_of in fetched.items()}
    ours = median["download_file from the API"]
    label = "ratio (the job's download_file from the API / staging)"
    print(f"  {label:<60} {ours / statistics.median(staged):.2f}")
    for peer in ("moto's server", "a static server"):
        label = f"ratio (the same / from {peer})"
        print(f"  {label:<60} {ours / median[f'download_file from {peer}']:.2f}")
    if profiled is not None:
        print(f"where the job's threads spent a download_file from the API ({float(profiled['seconds']):.3f} s):")
        print(profiled["profile"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--only-job-input", action="store_true", help="measure only a job's input")
    parser.add_argument("--profile", action="store_true", help="also profile a job's download from the API")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if not args.only_job_input:
        startup(args.starts)
        transfers(args.size_mb, args.runs)
    job_input(args.size_mb, args.runs, profile=args.profile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
