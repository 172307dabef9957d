"""A local stand-in for GitHub: REST endpoints validated against GitHub's own description,
real git over HTTP, fault injection and a request log. See ``Sandbox``."""

from bot.sandbox.server import Sandbox
from bot.sandbox.state import LoggedRequest

__all__ = ["LoggedRequest", "Sandbox"]
