"""Anomaly alerts from Prometheus: the `fireside monitor` side worker.

Nothing in this package imports the LSP server; the editor talks to the worker through
:mod:`fireside.monitor.supervisor`, which reads the worker's JSON-lines output.
"""
