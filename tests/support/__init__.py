"""Helpers shared by the test directories, imported as ``tests.support.NAME`` (never ``from conftest import``:
conftest modules of different directories share that name). Fixtures stay in each directory's conftest.py.

- lsp_session: pytest-lsp sessions (server command, start-up, request params)
- lsp_wire: a raw JSON-RPC client for the server over stdio (malformed frames, cancellation)
- socket_client: the server over TCP/WebSocket
- tiny_models: tiny real GGUF models and fake chunk wheels of them
- scripted_model: a model that answers from a script (code actions)
- engine_servers: real OpenAI-compatible engines on loopback
- monitor_services: real Prometheus/Alertmanager, synthetic series, a scripted Prometheus source
- processes: whether a process group has ended
- code_server: a real VS Code (code-server) driven by headless Chromium
"""
