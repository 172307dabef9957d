"""The functional core: pure functions over plain values. No I/O, no PyGithub or GitPython."""
