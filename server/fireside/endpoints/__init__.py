"""Remote inference engines: OpenAI-compatible servers (llama.cpp's server, llama-cpp-python's
server, vLLM, Ollama) used instead of the local model when endpoints are configured.

Nothing here runs, and nothing is sent anywhere, unless the ``endpoints`` setting names a server.
"""
