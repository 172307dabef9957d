"""Events to handlers: each stage module has its own ``Router`` with its handlers registered
by (event name, action); the ``handle`` command composes them (``bot/commands/handle.py``, the
one place that knows every stage). As in gidgethub (``Router`` in a module of its own) and
bedevere (the routers composed in ``__main__``).

No I/O of its own: the event and the stage context are whatever the caller passes; a handler's
failure is reported on the context's ``err`` stream and the others still run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TextIO, TypeVar

from bot.errors import report


class Routed(Protocol):
    """What the router reads of an event."""

    @property
    def name(self) -> str: ...

    @property
    def action(self) -> str | None: ...

    @property
    def label(self) -> str: ...


class Streams(Protocol):
    """What the router reads of the stage context: where to say what happened."""

    @property
    def out(self) -> TextIO: ...

    @property
    def err(self) -> TextIO: ...


E = TypeVar("E", bound=Routed)
C = TypeVar("C", bound=Streams)


class Router(Generic[E, C]):
    def __init__(self, *others: Router[E, C]) -> None:
        self._routes: dict[tuple[str, str | None], list[Callable[[E, C], int]]] = {}
        for other in others:
            for key, handlers in other._routes.items():
                self._routes.setdefault(key, []).extend(handlers)

    def register(self, event: str, *actions: str) -> Callable[[Callable[[E, C], int]],
                                                              Callable[[E, C], int]]:
        """Register a handler for ``event`` with any of ``actions`` (none: every action)."""

        def decorate(fn: Callable[[E, C], int]) -> Callable[[E, C], int]:
            for action in actions or (None,):
                self._routes.setdefault((event, action), []).append(fn)
            return fn

        return decorate

    def handlers(self, event: E) -> list[Callable[[E, C], int]]:
        found = list(self._routes.get((event.name, event.action), []))
        if event.action is not None:
            found += self._routes.get((event.name, None), [])
        return found

    def routes(self) -> list[tuple[str, str | None]]:
        return sorted(self._routes, key=lambda k: (k[0], k[1] or ""))

    def dispatch(self, event: E, context: C) -> int:
        """Run every handler for the event; the worst exit code wins. An event nobody handles
        is not an error: workflows may deliver more than the bot acts on."""
        handlers = self.handlers(event)
        if not handlers:
            print(f"improve: nothing to do for {event.label}", file=context.out)
            return 0
        # every handler runs, whatever an earlier one did: a push's PR handler failing must
        # not keep its release from happening; each failure is reported, the worst code wins
        codes = []
        for handler in handlers:
            try:
                codes.append(int(handler(event, context) or 0))
            except Exception as exc:
                message, code = report(f"improve handle: {event.label}: {_name(handler)}", exc)
                print(message, file=context.err)
                codes.append(code)
        return max(codes)


def _name(handler: Callable[..., int]) -> str:
    module = getattr(handler, "__module__", "") or ""
    return f"{module.rsplit('.', 1)[-1]}.{getattr(handler, '__name__', 'handler')}"
