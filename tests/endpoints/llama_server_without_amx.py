"""Runs llama-cpp-python's OpenAI-compatible server (the stand-in for a user's inference server) with
llama.cpp's AMX kernels off where this build would use them: they segfault on the first decode in
this project's virtual machines, as for Fireside's own engine (``fireside.completion.engine``).
``Llama`` takes no argument for it, so the default model parameters it reads are wrapped."""

from __future__ import annotations

import runpy

from llama_cpp import llama_cpp as bindings

from fireside.completion.engine import _amx_kernels_in_use

if _amx_kernels_in_use():
    default_params = bindings.llama_model_default_params

    def params_without_extra_buffers():  # noqa: ANN202 - a ctypes struct
        params = default_params()
        params.use_extra_bufts = False
        return params

    bindings.llama_model_default_params = params_without_extra_buffers

runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
