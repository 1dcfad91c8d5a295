"""Fixtures for the remote-engine tests; they live in tests/support/engine_servers.py with the helpers
the tests import."""

from tests.support.engine_servers import api_key_env, engine_servers, stalled_endpoint  # noqa: F401
