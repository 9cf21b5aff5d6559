"""Writes and rules for executions: starting, running and recording runs, and testing providers."""
