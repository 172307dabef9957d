"""The bot's own retry policy for PyGithub, replacing PyGithub's throttling and ``GithubRetry``.

PyGithub hands its ``retry`` argument to every connection it makes (and to every copy of its
requester), where it becomes the urllib3 ``Retry`` of the requests adapter. So the policy lives in
a ``Retry`` subclass: urllib3 asks ``is_retry`` once per response (where each HTTP request is
counted) and ``increment`` to decide on a retry (where the wait is chosen and bounded).

- 5xx (500, 502, 503, 504): exponential backoff, every method but POST. A POST answering 5xx
  may have taken effect (a gateway timeout after GitHub did the work): retrying it blindly makes
  a second comment, pull request or issue. It goes back to the adapter, which looks for the
  effect and adopts it, and retries only when there is none (``GitHubForge._create``).
- rate limits (429, or 403 with ``X-RateLimit-Remaining: 0`` or a ``Retry-After``): wait what
  ``Retry-After`` says, else until ``X-RateLimit-Reset``.
- a secondary rate limit with neither header (a 403 whose message says so): as GitHub's docs
  say, wait at least a minute, then exponentially longer on each further refusal, within
  ``secondary_max_wait``. Telling it from any other 403 takes the body; for any other 403 the
  body read is handed back to PyGithub as the exception it would have raised (as PyGithub's own
  ``GithubRetry`` does).
- the total wait for one request is bounded; past it the last response goes back to PyGithub,
  which raises, and the adapter turns that into a ``ForgeError`` naming the reason.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

from github.Requester import Requester
from urllib3.exceptions import MaxRetryError
from urllib3.response import BaseHTTPResponse
from urllib3.util.retry import Retry

from bot.core.forge import CallCounter

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_MAX_WAIT = 60.0
# GitHub: "wait for at least one minute before retrying", then "an exponentially increasing
# amount of time between retries" (docs: rate limits for the REST API, secondary rate limits)
SECONDARY_WAIT = 60.0
DEFAULT_SECONDARY_MAX_WAIT = 420.0  # 60 + 120 + 240: three tries after the first refusal
# Scales every real sleep (never the waits computed, bounded and reported). Test stand-ins set
# it below 1 so a minute's wait passes in milliseconds; it cannot lengthen a wait.
TIME_SCALE_ENV = "IMPROVE_RETRY_TIME_SCALE"


def _env_time_scale() -> float:
    raw = os.environ.get(TIME_SCALE_ENV, "")
    try:
        value = float(raw) if raw else 1.0
    except ValueError:
        return 1.0
    return value if 0 < value <= 1 else 1.0


def secondary_rate_limited(message: str) -> bool:
    """GitHub's secondary rate limit messages (the wording PyGithub recognises too)."""
    text = message.strip().lower()
    return (text.startswith("you have exceeded a secondary rate limit")
            or text.endswith("please retry your request again later.")
            or text.endswith("please wait a few minutes before you try again."))


@dataclass
class RetryPolicy:
    """How long to keep trying. ``max_wait``: seconds of waiting allowed for one request."""

    max_wait: float = DEFAULT_MAX_WAIT
    max_retries: int = 8
    backoff: float = 0.5
    max_backoff: float = 20.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    secondary_wait: float = SECONDARY_WAIT
    secondary_max_wait: float = DEFAULT_SECONDARY_MAX_WAIT
    time_scale: float = field(default_factory=_env_time_scale)
    counter: CallCounter = field(default_factory=CallCounter)
    # why the last request was given up, for the error message
    last_giveup: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


def rate_limited(status: int, headers: Any) -> bool:
    if status == 429:
        return True
    if status != 403:
        return False
    return headers.get("x-ratelimit-remaining") == "0" or bool(headers.get("retry-after"))


def rate_limit_wait(headers: Any, now: float) -> float | None:
    """Seconds a rate-limit answer asks to wait: ``Retry-After`` (seconds or a date) first,
    then ``X-RateLimit-Reset`` (epoch seconds) when nothing remains; None when neither says."""
    retry_after = headers.get("retry-after")
    if retry_after:
        value = retry_after.strip()
        if value.isdigit():
            return float(value)
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - now)
        except (TypeError, ValueError):
            pass
    reset = headers.get("x-ratelimit-reset")
    if reset and headers.get("x-ratelimit-remaining") == "0":
        try:
            # the reset is a whole second; waiting into it avoids a second refusal
            return max(0.0, float(reset) - now) + 0.5
        except ValueError:
            return None
    return None


class BotRetry(Retry):
    """A urllib3 ``Retry`` that applies a ``RetryPolicy`` and counts into its ``CallCounter``."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        waited: float = 0.0,
        next_wait: float = 0.0,
        attempt: int = 0,
        secondary: int = 0,
        **kwargs: Any,
    ):
        self.policy = policy or RetryPolicy()
        self.waited = waited
        self.next_wait = next_wait
        self.attempt = attempt
        # secondary rate limit refusals met so far by this request
        self.secondary = secondary
        kwargs.setdefault("total", None)
        kwargs.setdefault("connect", None)
        kwargs.setdefault("read", None)
        kwargs.setdefault("redirect", 0)
        kwargs.setdefault("status", None)
        # a response we give up on goes back to PyGithub, which raises with GitHub's message
        kwargs["raise_on_status"] = False
        kwargs["respect_retry_after_header"] = False
        super().__init__(**kwargs)

    def new(self, **kw: Any) -> BotRetry:
        kw.setdefault("policy", self.policy)
        kw.setdefault("waited", self.waited)
        kw.setdefault("next_wait", self.next_wait)
        kw.setdefault("attempt", self.attempt)
        kw.setdefault("secondary", self.secondary)
        return super().new(**kw)

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        # urllib3 asks this once for every response: the place to count HTTP requests
        with self.policy.lock:
            self.policy.counter.requests += 1
        if method.upper() == "POST" and status_code >= 500:
            return False  # may have taken effect: the adapter looks before it repeats
        return status_code in RETRY_STATUSES or status_code == 403

    def is_exhausted(self) -> bool:
        return False

    def _give_up(self, url: str, why: str, error: Exception | None, pool: Any) -> MaxRetryError:
        self.policy.last_giveup = why
        return MaxRetryError(pool, url, error)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: BaseHTTPResponse | None = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: Any = None,
    ) -> BotRetry:
        policy = self.policy
        method = (method or "GET").upper()
        where = f"{method} {url}"
        if response is None:
            # no answer at all; only safe to repeat when repeating cannot double an effect
            with policy.lock:
                policy.counter.requests += 1
            if method not in IDEMPOTENT or error is None:
                raise self._give_up(where, f"{error}", error, _pool)
            wait = self._backoff()
            reason = f"connection error ({type(error).__name__})"
        else:
            status = response.status
            if status == 403 and not rate_limited(status, response.headers):
                return self._secondary(response, where, _pool)
            if rate_limited(status, response.headers):
                asked = rate_limit_wait(response.headers, policy.clock())
                wait = self._backoff() if asked is None else asked
                reason = f"rate limited ({status}), asked to wait {wait:.1f}s"
            else:
                wait = self._backoff()
                reason = f"server error {status}"
        if self.attempt >= policy.max_retries:
            raise self._give_up(
                where, f"{reason}; gave up after {self.attempt + 1} attempts", error, _pool
            )
        if self.waited + wait > policy.max_wait:
            raise self._give_up(
                where,
                f"{reason}; waiting {wait:.1f}s more would exceed the bound of "
                f"{policy.max_wait:.0f}s (waited {self.waited:.1f}s)",
                error,
                _pool,
            )
        return self.new(waited=self.waited + wait, next_wait=wait, attempt=self.attempt + 1)

    def _secondary(self, response: BaseHTTPResponse, where: str, pool: Any) -> BotRetry:
        """A 403 without rate-limit headers: a secondary rate limit is waited out (a minute,
        doubling, within ``secondary_max_wait``); any other 403 goes back to PyGithub."""
        policy = self.policy
        raw = response.data  # reads (and so consumes) the body: it is all there is to go on
        response.release_conn()
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = {"message": raw.decode("utf-8", "replace") if raw else ""}
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        if not secondary_rate_limited(message):
            # the body is read, so hand PyGithub the exception it would have made of it
            policy.last_giveup = ""
            raise Requester.createException(403, dict(response.headers), body)
        wait = policy.secondary_wait * math.pow(2, self.secondary)
        reason = f"secondary rate limit (403), waiting {wait:.0f}s"
        spent = self.waited + wait
        if self.attempt >= policy.max_retries or spent > policy.secondary_max_wait:
            policy.last_giveup = (f"{reason} more would exceed the bound of "
                                  f"{policy.secondary_max_wait:.0f}s (waited {self.waited:.0f}s)")
            raise Requester.createException(403, dict(response.headers), body)
        return self.new(waited=spent, next_wait=wait, attempt=self.attempt + 1,
                        secondary=self.secondary + 1)

    def _backoff(self) -> float:
        p = self.policy
        return float(min(p.max_backoff, p.backoff * math.pow(2, self.attempt)))

    def sleep(self, response: BaseHTTPResponse | None = None) -> None:
        with self.policy.lock:
            self.policy.counter.retries += 1
            self.policy.counter.waited += self.next_wait
        if self.next_wait > 0:
            self.policy.sleep(self.next_wait * self.policy.time_scale)
