"""The Inspect task whose logs tests/test_tool_results.py reads (regenerate.sh runs it): sums
answered by a rule-based solver (no model is called), scored by Inspect's match() scorer, two
epochs. WORSE=1 is the worse solver: it multiplies when the first number is 5 or more."""

import os
import re

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput
from inspect_ai.scorer import match
from inspect_ai.solver import Generate, TaskState, solver

PAIRS = [(a, b) for a in range(1, 9) for b in (2, 3)]


@solver
def rules():
    worse = os.environ.get("WORSE") == "1"

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        a, b = map(int, re.findall(r"\d+", state.input_text))
        answer = a * b if worse and a >= 5 else a + b
        state.output = ModelOutput.from_content("rules", str(answer))
        return state

    return solve


@task
def sums() -> Task:
    return Task(
        dataset=[Sample(id=f"sum-{a}-{b}", input=f"What is {a} + {b}?", target=str(a + b))
                 for a, b in PAIRS],
        solver=rules(),
        scorer=match(),
        epochs=2,
    )
