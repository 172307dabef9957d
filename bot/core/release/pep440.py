"""PEP 440 versions (Python packages' own scheme): parsing with ``packaging``, and bumps.

``packaging`` is the reference implementation of PEP 440 (pip uses it), so parsing, normal form
and ordering are exactly what the Python tools do. What PEP 440 does not define is a bump; the
rules below follow the SemVer ones in ``bot.core.release.versioning`` (and
python-semantic-release, which also releases ``X.Y.Z``), read in PEP 440's terms:

- A developmental or pre-release (``0.23.2.dev0``, ``1.0rc1``) is on its way to its final release
  (PEP 440: ``X.devN`` and ``XrcN`` sort before ``X``). A bump that release already satisfies
  gives that release; a larger one goes to the next version: ``0.23.2.dev0`` patch ->
  ``0.23.2``, minor -> ``0.24.0``; ``1.0rc1`` patch/minor/major -> ``1.0.0``.
- A post-release (``2.0.post1``) comes after its release, which is out: bumps count from it
  (``2.0.1``, ``2.1.0``, ``3.0.0``).
- The local label (``1.2.3+local``) is dropped, as SemVer build metadata is.
- The epoch (``1!2.0``) is kept: dropping it would go backwards (``1!2.0 > 3.0``).
- The result has three release numbers, ``MAJOR.MINOR.PATCH``. PEP 440 pads release segments
  with zeros when comparing (``1.0 == 1.0.0``), so ``1.0rc1`` -> ``1.0.0`` is its final release;
  three numbers keep the tags and the changelog SemVer as well. Numbers past the third are
  dropped by any bump (``1.2.3.4`` patch -> ``1.2.4``).
"""

from __future__ import annotations

import functools

from packaging.version import InvalidVersion
from packaging.version import Version as _Pep440

from bot.core.release.versioning import BumpKind, bumped
from bot.errors import InputError


def is_valid(text: str) -> bool:
    try:
        _Pep440(text)
    except (InvalidVersion, TypeError):
        return False
    return True


@functools.total_ordering
class Pep440Version:
    """A PEP 440 version; ``str()`` gives the text as written in the file when it was parsed
    (PEP 440 accepts spellings such as ``1.0-RC1`` that it normalizes to ``1.0rc1``)."""

    def __init__(self, text: str) -> None:
        try:
            self._v = _Pep440(text)
        except InvalidVersion:
            raise InputError(f"{text!r} is not a PEP 440 version") from None
        self._text = text

    @classmethod
    def parse(cls, text: str) -> Pep440Version:
        if not isinstance(text, str):
            raise InputError(f"{text!r} is not a PEP 440 version: not a string")
        return cls(text)

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"Pep440Version({self._text!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pep440Version):
            return NotImplemented
        return self._v == other._v

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Pep440Version):
            return NotImplemented
        return self._v < other._v

    def __hash__(self) -> int:
        return hash(self._v)

    @property
    def is_prerelease(self) -> bool:
        return self._v.is_prerelease

    def _numbers(self) -> tuple[int, int, int]:
        r = self._v.release + (0, 0)
        return r[0], r[1], r[2]

    def _make(self, major: int, minor: int, patch: int) -> Pep440Version:
        epoch = f"{self._v.epoch}!" if self._v.epoch else ""
        return Pep440Version(f"{epoch}{major}.{minor}.{patch}")

    def bump(self, kind: BumpKind) -> Pep440Version:
        # on its way to its release: a pre-release (even ``1.0rc1.post1``, still before 1.0),
        # or a dev release of the release itself (``2.0.post1.dev0`` is after 2.0)
        ahead = self._v.pre is not None or (self._v.dev is not None and self._v.post is None)
        return self._make(*bumped(kind, *self._numbers(), ahead))
