"""improve: a git-native bot that runs a disciplined improvement loop over a repository."""

__version__ = "0.1.0"
