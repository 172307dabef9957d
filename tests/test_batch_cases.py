"""Evaluations of real size: cases read from compressed files, and batch mode (one process for
all of a task's cases, JSON Lines in and out). Tables for the pure parts (bot/core/cases.py),
then ``improve evaluate`` and ``improve compare`` on a real temporary repository."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import os
import random
import signal
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.adapters import runner
from bot.cli import main
from bot.core.cases import batch_metrics, batch_stdin, check_batch_ids, read_cases, score_batch
from bot.core.suites import Scorer
from bot.errors import InputError
from tests.helpers.git import commit_all, git, write_files
from tests.test_evaluate import PY, load, suite_yaml

PLAIN = b'{"id": "a", "text": "x", "label": "L"}\n\n{"id": "b", "text": "y", "label": "M"}\n'


# enough lines that a damage in the middle of the compressed stream reaches the decompressor
MANY = b"".join(b'{"id": %d, "text": "ticket %d %s"}\n' % (i, i * 7919 % 1000, b"x" * (i % 13))
                for i in range(3000))


def _damaged(data: bytes) -> bytes:
    """``data`` with bytes 200 to 259 flipped: a stream damaged mid-file, its headers intact."""
    out = bytearray(data)
    for i in range(200, 260):
        out[i] ^= 0x5A
    return bytes(out)


def _zip(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def _encrypted_zip() -> bytes:
    """A zip whose member says it is encrypted (zipfile asks for a password to open it): the
    flag set in its local and central headers (zipfile never writes encrypted members)."""
    data = bytearray(_zip({"c.jsonl": PLAIN}))
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        data[data.index(signature) + offset] |= 0x1
    return bytes(data)


@pytest.mark.parametrize(("file", "data"), [
    ("c.jsonl", PLAIN),
    ("c.jsonl.gz", gzip.compress(PLAIN)),
    ("c.jsonl.bz2", bz2.compress(PLAIN)),
    ("c.jsonl.xz", lzma.compress(PLAIN)),
    ("c.zip", _zip({"c.jsonl": PLAIN})),
    # a name the bot does not know is read as plain JSON Lines, as before
    ("c.txt", PLAIN),
])
def test_every_cases_format_reads_the_same_cases(file: str, data: bytes) -> None:
    assert read_cases(data, file) == [{"id": "a", "text": "x", "label": "L"},
                                      {"id": "b", "text": "y", "label": "M"}]


@pytest.mark.parametrize(("file", "data", "reason"), [
    ("c.jsonl.gz", gzip.compress(PLAIN)[:-6], "not a readable gzip archive (after line 3)"),
    ("c.jsonl.gz", PLAIN, "not a readable gzip archive: Not a gzipped file"),
    # deflate data damaged mid-file: zlib's own error, not a traceback
    ("c.jsonl.gz", _damaged(gzip.compress(MANY)), "while decompressing data"),
    ("c.zip", _damaged(_zip({"c.jsonl": MANY})), "while decompressing data"),
    ("c.jsonl.bz2", b"BZh9" + b"\0" * 40, "not a readable bzip2 archive"),
    ("c.jsonl.xz", lzma.compress(PLAIN)[:20], "not a readable xz archive"),
    ("c.zip", b"PK not really", "not a readable zip archive"),
    ("c.zip", _encrypted_zip(), "its member c.jsonl is encrypted"),
    ("c.zip", _zip({"a.jsonl": PLAIN, "b.jsonl": PLAIN}),
     "holds exactly one file of JSON Lines (it holds: a.jsonl, b.jsonl)"),
    ("c.jsonl.gz", gzip.compress(b'{"a": 1}\n[2]\n'), "each line must be a JSON object"),
    ("c.jsonl.gz", gzip.compress(b"\n"), "the cases file has no cases"),
])
def test_a_damaged_cases_file_is_refused_naming_it(file: str, data: bytes, reason: str) -> None:
    with pytest.raises(InputError) as info:
        read_cases(data, file)
    assert info.value.problems[0].file == file
    assert reason in info.value.problems[0].message


def test_a_broken_line_inside_an_archive_names_its_line() -> None:
    with pytest.raises(InputError) as info:
        read_cases(gzip.compress(b'{"a": 1}\n{"a": \n'), "c.jsonl.gz")
    assert [(p.file, p.line) for p in info.value.problems] == [("c.jsonl.gz", 2)]


@pytest.mark.parametrize(("cases", "problems"), [
    ([{"id": "a"}, {"id": "b"}], []),
    ([{"x": 1}, {"x": 2}], []),  # no ids: the cases' numbers (1, 2) are their ids
    ([{"id": "a"}, {"id": "a"}], ["case 2: id 'a' is also the id of case 1"]),
    ([{"x": 1}, {"id": 1}], ["case 2: id 1 is also the id of case 1"]),
    ([{"id": 1}, {"id": "1"}], []),  # 1 and "1" are different ids
    ([{"id": [1]}], ["case 1: its id must be a string or an integer, not [1]"]),
    ([{"id": True}], ["case 1: its id must be a string or an integer, not True"]),
])
def test_batch_case_ids(cases: list[dict], problems: list[str]) -> None:
    assert [p.message for p in check_batch_ids(cases, "c.jsonl")] == problems


EXACT = Scorer.model_validate({"exact": {"field": "label"}})


def test_batch_stdin_gives_each_case_without_its_answer() -> None:
    cases = [{"id": "a", "text": "x", "label": "L"}, {"input": "raw text", "label": "M"}]
    lines = [json.loads(line) for line in batch_stdin(cases, EXACT)]
    assert lines == [{"id": "a", "input": {"id": "a", "text": "x"}},
                     {"id": 2, "input": "raw text"}]


CASES = [{"id": "a", "label": "L"}, {"id": "b", "label": "M"}, {"id": "c", "label": "N"}]


@pytest.mark.parametrize(("stdout", "scores", "error"), [
    # any order, blank lines ignored, an output object or its JSON text
    ('{"id": "c", "output": {"label": "N"}}\n\n{"id": "a", "output": "{\\"label\\": \\"L\\"}"}\n'
     '{"id": "b", "output": {"label": "X"}}\n', [1.0, 0.0, 1.0], None),
    ('{"id": "a", "output": {"label": "L"}}\nwarming up\n', [], "stdout line 2 is not JSON"),
    ('{"id": "a", "output": {"label": "L"}}\n[1]\n', [], "stdout line 2 is not an object with an "
                                                      "'id'"),
    ('{"output": "L"}\n', [], "stdout line 1 is not an object with an 'id'"),
    ('{"id": "c", "output": "N"}\n{"id": "b", "output": "M"}\n{"id": "a", "label": "L"}\n', [],
     "stdout line 3 has no 'output'"),
    ('{"id": "z", "output": "L"}\n', [], "stdout line 1: unknown case id 'z'"),
    ('{"id": "a", "output": "L"}\n{"id": "a", "output": "L"}\n', [],
     "stdout line 2: a second answer for case id 'a'"),
    ('{"id": "a", "output": "L"}\n', [], "no answer for 2 of 3 case(s): 'b', 'c'"),
    ("", [], "no answer for 3 of 3 case(s)"),
])
def test_score_batch(stdout: str, scores: list[float], error: str | None) -> None:
    got = score_batch(CASES, stdout, EXACT)
    assert got.scores == scores
    if error is None:
        assert got.error is None
        assert got.notes == ["case b: expected 'M', got 'X'"]
    else:
        assert got.error is not None and got.error.startswith(error)


REST = '{"id": "b", "acc": 1}\n{"id": "c", "acc": 1}\n'


@pytest.mark.parametrize(("stdout", "metrics", "error"), [
    # a task that scores itself: each declared score metric on every line, a timing metric
    # kept only when every line has it
    ('{"id": "a", "acc": 1, "ms": 2}\n{"id": "c", "acc": 0.5}\n{"id": "b", "acc": 0, "x": "y"}\n',
     {"acc": [1.0, 0.0, 0.5]}, None),
    ('{"id": "a", "acc": 1, "ms": 2}\n{"id": "c", "acc": 0.5, "ms": 4}\n{"id": "b", "acc": 0, '
     '"ms": 0}\n', {"acc": [1.0, 0.0, 0.5], "ms": [2.0, 0.0, 4.0]}, None),
    ('{"id": "a", "acc": 1}\n{"id": "b"}\n{"id": "c", "acc": 1}\n', {},
     "stdout line 2 has no 'acc' (declared by the suite)"),
    ('{"id": "a", "acc": "1"}\n' + REST, {}, "stdout line 1: 'acc' is not a finite number: '1'"),
    ('{"id": "a", "acc": true}\n' + REST, {}, "stdout line 1: 'acc' is not a finite number: True"),
    ('{"id": "a", "acc": NaN}\n' + REST, {}, "stdout line 1: 'acc' is not a finite number: nan"),
    ('{"id": "a", "acc": 1, "ms": "x"}\n' + REST, {}, "stdout line 1: 'ms' is not a finite number"),
    ('{"id": "a", "acc": 1}\n', {}, "no answer for 2 of 3 case(s): 'b', 'c'"),
])
def test_batch_metrics(stdout: str, metrics: dict[str, list[float]], error: str | None) -> None:
    got = batch_metrics(CASES, stdout, ["acc"], ["ms"])
    assert got.metrics == metrics
    assert (got.error is None) if error is None else (got.error or "").startswith(error)


def test_run_streaming_feeds_stdin_as_read_and_keeps_all_of_stdout(tmp_path: Path) -> None:
    # 4 MB through `cat`: far past a pipe's buffer and the 64 kB tail run() keeps
    lines = [f"{i:07d} {'x' * 92}\n".encode() for i in range(40_000)]
    out = runner.run_streaming(["cat"], cwd=tmp_path, timeout=60, env=os.environ,
                               stdin=iter(lines))
    assert (out.exit_code, out.timed_out, out.error) == (0, False, None)
    assert out.stdout.encode() == b"".join(lines)


def test_run_streaming_when_the_process_reads_nothing_or_too_long(tmp_path: Path) -> None:
    many = (b"y" * 1000 + b"\n" for _ in range(10_000))
    quits = runner.run_streaming(["sh", "-c", "echo bye >&2; exit 3"], cwd=tmp_path, timeout=60,
                                 env=os.environ, stdin=many)
    assert (quits.exit_code, quits.stderr) == (3, "bye\n")
    slow = runner.run_streaming(["sleep", "30"], cwd=tmp_path, timeout=0.5, env=os.environ,
                                stdin=iter([b"{}\n"]))
    # stopped by its group's SIGKILL at the timeout, not left to finish its 30 s
    assert slow.timed_out and slow.exit_code == -signal.SIGKILL
    missing = runner.run_streaming(["no-such-command-w18"], cwd=tmp_path, timeout=5,
                                   env=os.environ, stdin=iter([]))
    assert missing.error == "command not found: no-such-command-w18"


# ---- end to end --------------------------------------------------------------------------

# A keyword classifier that reads every case as a JSON line and answers each with one; the
# worse one has forgotten a keyword (a real change to the code under test).
CLASSIFIER = """\
import json, sys
KEYWORDS = {KEYWORDS}
for line in sys.stdin:
    case = json.loads(line)
    words = set(case["input"]["text"].split())
    label = "pos" if words & KEYWORDS else "neg"
    print(json.dumps({{"id": case["id"], "output": {{"label": label}}}}))
"""
GOOD = CLASSIFIER.format(KEYWORDS='{"good", "great", "fine"}')
WORSE = CLASSIFIER.format(KEYWORDS='{"good", "great"}')


SCORES_ITSELF = """\
import json, sys
for line in sys.stdin:
    case = json.loads(line)
    print(json.dumps({"id": case["id"], "accuracy": int(case["input"]["label"] == "pos")}))
"""


def labelled_texts(n: int, seed: int) -> bytes:
    rng = random.Random(seed)
    pos, neg = ["good", "great", "fine"], ["bad", "poor", "awful"]
    filler = ["the", "film", "was", "plot", "acting", "quite", "really"]
    lines = []
    for i in range(n):
        label = rng.choice(["pos", "neg"])
        words = rng.sample(filler, 4) + [rng.choice(pos if label == "pos" else neg)]
        rng.shuffle(words)
        lines.append(json.dumps({"id": f"t{i}", "text": " ".join(words), "label": label}))
    return ("\n".join(lines) + "\n").encode()


def batch_task(tid: str, cases: str) -> dict:
    return {"id": tid, "cases": cases, "batch": True, "run": [PY, "clf.py"],
            "scorer": {"exact": {"field": "label"}}}


COMPRESS = {"gz": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}


def test_batch_over_compressed_cases_compares_a_worse_classifier(
        make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    # a matrix of six tasks of 500 texts, two per compression (the comparison pairs tasks:
    # three are too few to be sure of anything)
    files = {f"data/{fmt}{part}.jsonl.{fmt}": COMPRESS[fmt](labelled_texts(500, 10 * part + n))
             for n, fmt in enumerate(COMPRESS) for part in range(2)}
    task = {**batch_task("clf", "data/${{ matrix.fmt }}${{ matrix.part }}.jsonl.${{ matrix.fmt }}"),
            "matrix": {"fmt": list(COMPRESS), "part": [0, 1]}}
    repo = make_repo({
        "benchmarks/texts.yaml": suite_yaml([task], repeat=1, metrics=[{"name": "accuracy"}]),
        **files,
        "clf.py": GOOD,
    })
    base = git(repo, "rev-parse", "HEAD")
    write_files(repo, {"clf.py": WORSE})
    head = commit_all(repo, "forget a keyword")
    for sha, out in ((base, "base.json"), (head, "head.json")):
        # in this process: the bot's start-up (its imports) would be most of the test's time
        assert main(["evaluate", "--repo", str(repo), "--ref", sha, "-o", str(repo / out)]) == 0
    tasks = load(repo / "base.json")["suites"][0]["tasks"]
    # the results list tasks sorted by id
    assert [t["id"] for t in tasks] == [
        "clf[fmt=bz2,part=0]", "clf[fmt=bz2,part=1]", "clf[fmt=gz,part=0]",
        "clf[fmt=gz,part=1]", "clf[fmt=xz,part=0]", "clf[fmt=xz,part=1]"]
    assert all(t["samples"][0]["metrics"]["accuracy"] == 1.0 for t in tasks)
    worse = load(repo / "head.json")["suites"][0]["tasks"]
    # a third of the positive texts say "fine": about a sixth of all cases go wrong
    assert all(0.75 < t["samples"][0]["metrics"]["accuracy"] < 0.9 for t in worse)
    assert "expected 'pos', got 'neg'" in worse[0]["samples"][0]["output_tail"]
    capsys.readouterr()
    assert main(["compare", str(repo / "base.json"), str(repo / "head.json"),
                 "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["decision"] == "reject"


def test_a_batch_that_breaks_the_protocol_or_crashes_fails_its_task(
        make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    cases = gzip.compress(labelled_texts(50, 4))
    drop_one = GOOD.replace('for line in sys.stdin:', 'for line in list(sys.stdin)[1:]:')
    crash = GOOD + 'sys.exit("model file missing")\n'
    repo = make_repo({
        "benchmarks/texts.yaml": suite_yaml(
            [{**batch_task("short", "c.jsonl.gz"), "run": [PY, "short.py"]},
             {**batch_task("crash", "c.jsonl.gz"), "run": [PY, "crash.py"]},
             {**batch_task("slow", "c.jsonl.gz"), "timeout": 1,
              "run": [PY, "-c", "import time; time.sleep(30)"]},
             {"id": "own", "cases": "c.jsonl.gz", "batch": True, "run": [PY, "own.py"]}],
            repeat=1, metrics=[{"name": "accuracy"}]),
        "c.jsonl.gz": cases, "short.py": drop_one, "crash.py": crash, "own.py": SCORES_ITSELF,
    })
    # the task's output broke the contract: exit 2, naming the suite, the task and the line
    assert main(["evaluate", "--repo", str(repo), "-o", str(repo / "out.json")]) == 2
    err = capsys.readouterr().err
    assert ("error: benchmarks/texts.yaml: task short: batch output breaks the protocol: no "
            "answer for 1 of 50 case(s): 't0'") in err
    tasks = {t["id"]: t["samples"][0] for t in load(repo / "out.json")["suites"][0]["tasks"]}
    assert tasks["short"]["failure"] == "malformed_metrics"
    assert tasks["short"]["reason"] == ("batch output breaks the protocol: no answer for 1 of 50 "
                                        "case(s): 't0'")
    assert tasks["crash"]["failure"] == "crashed"
    crashed = "crashed: exited with code 1 (batch of 50 cases, 50 answered)"
    assert tasks["crash"]["reason"] == crashed
    assert "model file missing" in tasks["crash"]["output_tail"]
    assert tasks["slow"]["failure"] == "timeout"
    assert tasks["slow"]["reason"] == "timed out after 1 s (batch of 50 cases, 0 answered)"
    # without a scorer, a batch prints each case's metrics (it sees the labels): their mean
    labels = [json.loads(line)["label"] for line in gzip.decompress(cases).splitlines()]
    assert tasks["own"]["status"] == "ok"
    assert tasks["own"]["metrics"] == {"accuracy": labels.count("pos") / len(labels)}


def test_batch_ids_and_a_corrupt_archive_are_checked_before_anything_runs(
        make_repo: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    repo = make_repo({
        "benchmarks/texts.yaml": suite_yaml(
            [batch_task("dup", "dup.jsonl"), batch_task("bad", "bad.jsonl.gz")],
            repeat=1, metrics=[{"name": "accuracy"}]),
        "dup.jsonl": '{"id": 1, "text": "a", "label": "pos"}\n{"id": 1, "text": "b", "label": '
                     '"neg"}\n',
        "bad.jsonl.gz": gzip.compress(labelled_texts(20, 5))[:-10],
        "clf.py": GOOD,
    })
    assert main(["evaluate", "--repo", str(repo), "-o", str(repo / "out.json")]) == 2
    err = capsys.readouterr().err
    assert "dup.jsonl: case 2: id 1 is also the id of case 1" in err
    assert "bad.jsonl.gz: not a readable gzip archive" in err
    assert not (repo / "out.json").exists()
