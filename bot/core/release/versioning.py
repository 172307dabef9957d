"""SemVer 2.0 versions: strict parsing, precedence, bumps, and the next version of a release.

Bump rules for pre-release versions (the same as npm's ``semver.inc`` and python-semantic-release):
a pre-release is on its way to its release, so a bump that the release already satisfies just
drops the pre-release instead of skipping a version.

- ``patch``: ``1.2.3-rc.1`` -> ``1.2.3``; ``1.2.3`` -> ``1.2.4``
- ``minor``: ``1.3.0-rc.1`` -> ``1.3.0``; ``1.2.3-rc.1`` -> ``1.3.0``; ``1.2.3`` -> ``1.3.0``
- ``major``: ``2.0.0-rc.1`` -> ``2.0.0``; ``1.2.0-rc.1`` -> ``2.0.0``; ``1.2.3`` -> ``2.0.0``

Build metadata is always dropped by a bump. ``breaking`` is a major bump even below 1.0.0: the
design says so, and a 0.x project that wants otherwise maps its types to ``minor``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.errors import InputError, Problem

BumpKind = str  # "major" | "minor" | "patch"; kept a str so the config's Literal passes through

# semver.org's own regular expression, with ASCII digits only (Python's \d matches any Unicode
# digit, which SemVer does not allow)
SEMVER_PATTERN = (
    r"(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<pre>(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)
_SEMVER = re.compile(SEMVER_PATTERN)

BUMPS = ("major", "minor", "patch")


def _ident_key(ident: str) -> tuple[int, int, str]:
    # numeric identifiers sort numerically and below alphanumeric ones (SemVer 11.4.1-3)
    if ident.isdigit():
        return (0, int(ident), "")
    return (1, 0, ident)


def precedence_key(major: int, minor: int, patch: int, prerelease: tuple[str, ...] = ()) -> tuple:
    """What SemVer precedence compares: a release sorts above its pre-releases; a longer
    pre-release list sorts above an equal prefix of it (SemVer 11.4.4). Build metadata is not in
    it. Exposed so that a 10,000-release changelog can be checked without building Versions."""
    pre: tuple = (1,) if not prerelease else (0, tuple(map(_ident_key, prerelease)))
    return (major, minor, patch, pre)


@functools.total_ordering
@dataclass(frozen=True, eq=False)
class Version:
    """A SemVer 2.0 version. Equality, hashing and ordering follow precedence, so build metadata
    is ignored by all three (``1.0.0+a == 1.0.0+b``), as in python-semver."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[str, ...] = ()
    build: tuple[str, ...] = ()
    # computed once: comparing and hashing 10,000 versions of a changelog must stay cheap
    _key: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_key", precedence_key(self.major, self.minor, self.patch,
                                                        self.prerelease))

    @classmethod
    def parse(cls, text: str) -> Version:
        """Strictly per semver.org: no leading "v", no whitespace, no leading zeros."""
        if not isinstance(text, str):
            raise InputError(f"{text!r} is not a SemVer 2.0 version: not a string")
        m = _SEMVER.fullmatch(text)
        if m is None:
            raise InputError(f"{text!r} is not a SemVer 2.0 version (MAJOR.MINOR.PATCH"
                             "[-PRERELEASE][+BUILD], no leading zeros)")
        pre = m.group("pre")
        build = m.group("build")
        return cls(
            int(m.group("major")),
            int(m.group("minor")),
            int(m.group("patch")),
            tuple(pre.split(".")) if pre else (),
            tuple(build.split(".")) if build else (),
        )

    def __str__(self) -> str:
        s = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            s += "-" + ".".join(self.prerelease)
        if self.build:
            s += "+" + ".".join(self.build)
        return s

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    @property
    def key(self) -> tuple:
        return self._key

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key == other._key

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key < other._key

    def __hash__(self) -> int:
        return hash(self._key)

    def bump(self, kind: BumpKind) -> Version:
        """The next version for a ``major``, ``minor`` or ``patch`` change (rules above)."""
        return Version(*bumped(kind, self.major, self.minor, self.patch, bool(self.prerelease)))


def bumped(kind: BumpKind, major: int, minor: int, patch: int,
           ahead: bool) -> tuple[int, int, int]:
    """The release numbers a bump gives (rules above), shared by SemVer and PEP 440 versions.
    ``ahead``: the version is on its way to its release ``major.minor.patch`` (a pre-release),
    so a bump that release already satisfies gives that release."""
    if kind == "major":
        if ahead and minor == 0 and patch == 0:
            return major, minor, patch
        return major + 1, 0, 0
    if kind == "minor":
        if ahead and patch == 0:
            return major, minor, patch
        return major, minor + 1, 0
    if kind == "patch":
        if ahead:
            return major, minor, patch
        return major, minor, patch + 1
    raise InputError(f"unknown version bump {kind!r}: use one of {', '.join(BUMPS)}")


def is_valid(text: str) -> bool:
    return isinstance(text, str) and _SEMVER.fullmatch(text) is not None


def strip_tag_prefix(tag: str, prefix: str = "v") -> str | None:
    """The version text of a tag like ``v1.2.3`` (``prefix`` configurable), or None when the tag
    does not carry the prefix or what follows is not a SemVer version."""
    if prefix and not tag.startswith(prefix):
        return None
    rest = tag[len(prefix):]
    return rest if is_valid(rest) else None


def parse_tag(tag: str, prefix: str = "v") -> Version | None:
    rest = strip_tag_prefix(tag, prefix)
    return Version.parse(rest) if rest is not None else None


def tag_name(version: Version | str, prefix: str = "v") -> str:
    return f"{prefix}{version}"


def bump_kind(
    proposal_type: str | None,
    types: Mapping[str, str],
    breaking: bool = False,
    rollback: bool = False,
) -> BumpKind:
    """Which bump a release makes: a rollback is a patch, ``breaking`` a major, otherwise the
    configured map (``proposals.types``) decides."""
    if rollback:
        return "patch"
    if breaking:
        return "major"
    if proposal_type is None or proposal_type not in types:
        known = ", ".join(sorted(types)) or "none"
        raise InputError([Problem(
            ".github/improve.yml",
            f"proposal type {proposal_type!r} has no version bump configured (known: {known})",
            field="proposals.types",
        )])
    kind = types[proposal_type]
    if kind not in BUMPS:
        raise InputError([Problem(".github/improve.yml",
                                  f"bump {kind!r} is not one of {', '.join(BUMPS)}",
                                  field=f"proposals.types.{proposal_type}")])
    return kind


def next_version(
    current: Version | str,
    proposal_type: str | None,
    types: Mapping[str, str],
    breaking: bool = False,
    rollback: bool = False,
) -> Version:
    """The version a merged proposal (or a rollback) is released as."""
    cur = current if isinstance(current, Version) else Version.parse(current)
    return cur.bump(bump_kind(proposal_type, types, breaking=breaking, rollback=rollback))
