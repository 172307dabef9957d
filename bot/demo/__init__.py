"""``improve demo``: the whole loop told on the sandbox, offline, through the bot's real GitHub
code path. The sample repository it seeds (a ticket router, its labelled data and suites) ships
in ``bot/demo/repo``; ``bot/demo/dataset.py`` regenerates the data."""
