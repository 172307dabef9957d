"""COMMIT and the release, decided: the plan (``plan``) from its facts (``facts``); versions
(``versioning``: SemVer, ``pep440``, ``version_files``: the files that carry one); the
changelog, the GitHub Release's notes, the measurement's summary in the entry, and the
history read back. Pure."""
