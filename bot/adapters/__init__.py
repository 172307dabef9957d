"""The thin shell: git, the forge, subprocesses, the Actions environment."""
