"""The dashboard issue, found where every stage looks for it: the scheduled run keeps it
(``bot/stages/dashboard.py``), the pull-request evaluation and ``improve propose`` read the
rollback-rate alert it carries (whether the auto tier is paused)."""

from __future__ import annotations

from bot.core.analytics import dashboard as dash
from bot.core.analytics.alerts import paused_by
from bot.core.forge import Forge, Issue
from bot.core.render import find_marker


def find_dashboard(forge: Forge) -> Issue | None:
    """The dashboard issue: open, labelled, carrying the marker; the oldest if several."""
    found = [i for i in forge.list_issues(label=dash.LABEL, state="open")
             if find_marker(i.body) == dash.MARKER]
    return min(found, key=lambda i: i.number) if found else None


def auto_tier_paused(forge: Forge) -> bool:
    """Whether the auto tier is paused: the rollback-rate alert as the scheduled run keeps it on
    the dashboard issue. The one place both ``improve propose`` (the tier a new proposal
    states) and the pull-request evaluation (its gate) read, so they cannot disagree."""
    issue = find_dashboard(forge)
    return issue is not None and paused_by(dash.alert_state(issue.body))


def adopt_dashboard(forge: Forge) -> Issue | None:
    """Before creating the dashboard: an open issue of the bot's carrying the marker but not
    the label (a run killed between creating and labelling it), labelled and adopted, so that
    there is never a second dashboard. One call, made only when none was found."""
    login = forge.bot_login  # None: the login is unknown, any author counts
    found = [i for i in forge.list_issues(state="open")
             if find_marker(i.body) == dash.MARKER and (login is None or i.author == login)]
    if not found:
        return None
    first = min(found, key=lambda i: i.number)
    forge.add_labels(first.number, [dash.LABEL])
    return first
