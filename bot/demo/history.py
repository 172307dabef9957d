"""What the demo reads back from the sandbox's bare repository when the story is over: the
changelog on main, and the results the bot stored on the data branch for main's commits."""

from __future__ import annotations

import json
from pathlib import Path

from bot.demo.engine import World, git
from bot.demo.page import Point, point_of

DATA_BRANCH = "improve-data"


def bare(world: World) -> Path:
    return world.sb.root / f"{world.repo}.git"


def changelog(world: World) -> str:
    return git(bare(world), "show", "main:CHANGELOG.md") + "\n"


def metric_history(world: World) -> list[Point]:
    """One point per commit of main (first parent, oldest first) with stored results."""
    repo = bare(world)
    stored = set(git(repo, "ls-tree", "--name-only", f"{DATA_BRANCH}:results").split())
    tags: dict[str, str] = {}
    for line in git(repo, "for-each-ref", "--format=%(*objectname) %(objectname) "
                    "%(refname:short)", "refs/tags").splitlines():
        peeled, obj, name = line.split(" ")
        tags[peeled or obj] = name
    points = []
    for sha in git(repo, "rev-list", "--first-parent", "--reverse", "main").split():
        if f"{sha}.json" not in stored:
            continue
        results = json.loads(git(repo, "show", f"{DATA_BRANCH}:results/{sha}.json"))
        points.append(point_of(tags.get(sha, sha[:7]), results))
    return points
