"""Fixtures for the remote-engine tests; they live in engine_servers.py (a unique module name, so that
the tests can import its helpers without clashing with other directories' conftest modules)."""

from engine_servers import api_key_env, engine_servers, stalled_endpoint  # noqa: F401
