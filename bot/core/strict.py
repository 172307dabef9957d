"""The base of every model read from input the bot does not trust to be well formed
(configuration, proposals, results, suites, plans): an unknown key is an error naming it, never
silently ignored. Records on the data branch are lenient instead (bot/core/records.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
