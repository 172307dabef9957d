"""Events to stages: each stage module has its own ``Router`` with its handlers registered by
(event name, action); the bot's router composes them. As in gidgethub and bedevere."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.adapters.event import Event

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
            label = event.name + (f".{event.action}" if event.action else "")
            print(f"improve: nothing to do for {label}", file=services.out)
            return 0
        return max(handler(event, services) for handler in handlers)


def bot_router() -> Router:
    """Every stage's router, composed. A new stage adds its module here."""
    from bot.stages import comment_commands, dashboard, monitor, pr_evaluation, release

    # the monitor before the dashboard: the dashboard then shows this run's monitor records
    return Router(pr_evaluation.router, release.router, comment_commands.router,
                  monitor.router, dashboard.router)
