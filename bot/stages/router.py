"""Events to stages: each stage module has its own ``Router`` with its handlers registered by
(event name, action); the bot's router composes them. As in gidgethub and bedevere.

Only the stages that handle the event are imported (``STAGES`` says which handle what; a test
checks it against their registrations): an event the bot ignores must not pay for scipy and
every stage, since the workflows deliver more events than the bot acts on.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.adapters.event import Event
from bot.errors import report

if TYPE_CHECKING:
    from bot.stages.context import Services

Handler = Callable[[Event, "Services"], int]


class Router:
    def __init__(self, *others: Router) -> None:
        self._routes: dict[tuple[str, str | None], list[Handler]] = {}
        for other in others:
            for key, handlers in other._routes.items():
                self._routes.setdefault(key, []).extend(handlers)

    def register(self, event: str, *actions: str) -> Callable[[Handler], Handler]:
        """Register a handler for ``event`` with any of ``actions`` (none: every action)."""

        def decorate(fn: Handler) -> Handler:
            for action in actions or (None,):
                self._routes.setdefault((event, action), []).append(fn)
            return fn

        return decorate

    def handlers(self, event: Event) -> list[Handler]:
        found = list(self._routes.get((event.name, event.action), []))
        if event.action is not None:
            found += self._routes.get((event.name, None), [])
        return found

    def routes(self) -> list[tuple[str, str | None]]:
        return sorted(self._routes, key=lambda k: (k[0], k[1] or ""))

    def dispatch(self, event: Event, services: Services) -> int:
        """Run every handler for the event; the worst exit code wins. An event nobody handles
        is not an error: workflows may deliver more than the bot acts on."""
        handlers = self.handlers(event)
        if not handlers:
            print(f"improve: nothing to do for {event.label}", file=services.out)
            return 0
        # every handler runs, whatever an earlier one did: a push's PR handler failing must
        # not keep its release from happening; each failure is reported, the worst code wins
        codes = []
        for handler in handlers:
            try:
                codes.append(int(handler(event, services) or 0))
            except Exception as exc:
                message, code = report(f"improve handle: {event.label}: {_name(handler)}", exc)
                print(message, file=services.err)
                codes.append(code)
        return max(codes)


def _name(handler: Handler) -> str:
    module = getattr(handler, "__module__", "") or ""
    return f"{module.rsplit('.', 1)[-1]}.{getattr(handler, '__name__', 'handler')}"


# the stage modules in the order their handlers run, and the events each handles; the monitor
# before the dashboard: the dashboard then shows this run's monitor records
STAGES: tuple[tuple[str, frozenset[str]], ...] = (
    ("pr_evaluation", frozenset({"pull_request", "workflow_run", "push", "merge_group"})),
    ("release", frozenset({"push", "pull_request"})),
    ("comment_commands", frozenset({"issue_comment"})),
    ("issue_proposals", frozenset({"issue_comment"})),
    ("monitor", frozenset({"schedule", "workflow_dispatch"})),
    ("sweep", frozenset({"schedule", "workflow_dispatch"})),
    ("dashboard", frozenset({"schedule", "workflow_dispatch"})),
)


def bot_router(event_name: str | None = None) -> Router:
    """The stages' routers, composed: those that handle ``event_name``, or all of them. A new
    stage adds its module to STAGES."""
    modules = [importlib.import_module(f"bot.stages.{name}") for name, events in STAGES
               if event_name is None or event_name in events]
    return Router(*(m.router for m in modules))
