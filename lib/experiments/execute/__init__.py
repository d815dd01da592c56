"""How runs are executed: CPU worker processes (``parallel``), papermill executions of
the one-run chapter (``runner``), the sweep command line over a grid (``sweep``,
``python -m lib.experiments.execute.sweep``) and its Ray executor (``ray_executor``,
imported only when asked for). Imports nothing itself."""
