"""JUnit XML (pytest ``--junitxml``, Maven Surefire, Jest's reporter, …): one entry per test
case (``classname.name``) with its ``time`` as ``time_s``; a test case with a ``failure`` or
``error`` is a failed entry; a skipped one is left out."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping

from bot.core.formats.common import Entry, FormatError, number, one_file


def parse(files: Mapping[str, bytes], _paths: Mapping[str, str]) -> list[Entry]:
    name, data = one_file(files)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise FormatError(f"{name}: not XML: {exc}") from None
    failed: dict[str, str] = {}
    times: dict[str, list[dict[str, float]]] = {}
    for case in root.iter("testcase"):
        cls = case.get("classname") or ""
        title = case.get("name") or "?"
        full = f"{cls}.{title}" if cls else title
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if bad is not None:
            what = "failed" if bad.tag == "failure" else "errored"
            lines = (bad.get("message") or bad.text or "").strip().splitlines()
            failed.setdefault(full, f"{what}: {lines[0][:200]}" if lines else what)
            continue
        if case.find("skipped") is not None:
            continue
        try:
            seconds = float(case.get("time") or 0.0)
        except ValueError:
            raise FormatError(f"{name}: test case {full}: time is not a number") from None
        # a test case run twice (a rerun plugin, two reports merged) gives two samples
        times.setdefault(full, []).append({"time_s": number(seconds, f"{name}: {full}: time")})
    entries = [Entry(n, [], why) for n, why in failed.items()]
    entries += [Entry(n, s) for n, s in times.items() if n not in failed]
    if root.tag not in ("testsuites", "testsuite"):
        raise FormatError(f"{name}: not a JUnit report (root element <{root.tag}>)")
    return entries
