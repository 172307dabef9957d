"""Stages orchestrate one event each as gather -> decide (pure) -> act."""
