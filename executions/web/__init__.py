"""The console's pages for what runs: the dashboard, an agent's overview, runs,
executions and their traces, artifacts and providers."""
