"""The one typed configuration model, shared by CLI flags, initializationOptions and
workspace/didChangeConfiguration.

Values arrive as camelCase JSON (the editor) or snake_case (CLI, Python). Each field is structured and
validated on its own so that one bad value is reported and replaced by its default without throwing
away the good ones next to it.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fireside.settings import (
    ConfigProblem,
    between,
    http_url,
    merge_settings,
    non_empty_path,
    one_of,
    setting,
    string_list,
    subset_of,
)

__all__ = [
    "CONTEXT_FEATURES", "DEFAULT_CONTEXT_FEATURES", "RESTRICTED_SETTINGS", "ConfigProblem", "FiresideConfig",
    "merge_config", "setting_descriptions", "without_restricted",
]

def http_url_list(value: Any) -> str | None:
    bad = [item for item in value if not isinstance(item, str) or http_url(item) is not None]
    return f"has entries that are not http(s):// URLs: {bad}" if bad else None


def environment_name(value: Any) -> str | None:
    if value is None or (value.replace("_", "a").isalnum() and not value[0].isdigit()):
        return None
    return "must be an environment variable name"


LOG_LEVELS = ("debug", "info", "warning", "error")
CONTEXT_FEATURES = ("definitions", "imports", "scopes", "syntax-check", "repo-format", "typing-layout")
# `repo-format` is off by default: measured on Qwen2.5-Coder 0.5B Instruct, repository tokens before the FIM
# prompt make the model fill in code that belongs elsewhere (eval/RESULTS.md, completion quality).
# `typing-layout` (the cursor's line after <fim_middle>) keeps prefix and suffix cached while the user types: a
# keystroke evaluates one token instead of the whole suffix (~230 tokens, ~2 s on one thread), for a measured cost
# in quality on mid-line holes (eval/RESULTS.md).
DEFAULT_CONTEXT_FEATURES = ("definitions", "imports", "scopes", "syntax-check", "typing-layout")
# Every editor language id with a grammar (``fireside.context.languages.SUPPORTED_LANGUAGE_IDS``, which sits
# above this layer; tests/server/test_languages.py keeps the two equal).
DEFAULT_ENABLED_LANGUAGES = (
    "python", "javascript", "javascriptreact", "typescript", "typescriptreact", "go", "rust", "java", "c", "cpp",
)


@dataclass(frozen=True)
class FiresideConfig:
    """Every setting the server understands. The VS Code extension's package.json mirrors these."""

    model_path: str | None = setting(
        None,
        "Path to a GGUF model file. Empty: the default model chosen for this machine (`fireside models install`: "
        "Qwen2.5-Coder 0.5B or 1.5B), or the bundled Gemma 3 270M while that is not installed.",
        non_empty_path,
    )
    context_size: int = setting(4096, "Model context window in tokens.", between(1, 131072))
    max_tokens: int = setting(64, "Most tokens generated for one completion.", between(1, 1024))
    max_prompt_tokens: int = setting(
        1024, "Most prompt tokens (the text around the cursor) given to the model.", between(1, 131072)
    )
    threads: int = setting(
        0, "CPU threads for the model; 0 follows the machine: all the cores other processes leave idle (at most 8), "
        "looked at again while generating.", between(0, 256)
    )
    debounce_ms: int = setting(
        0,
        "Milliseconds to wait after a keystroke before asking the model (0: at once; the request it supersedes "
        "stops within one model step, so waiting saves CPU, not time).",
        between(0, 5000),
    )
    enabled_languages: tuple[str, ...] = setting(
        lambda: DEFAULT_ENABLED_LANGUAGES,
        "Language ids Fireside completes in (VS Code's ids). Each supported language gets tree-sitter context; "
        "any other id added here gets plain completions from the model.",
        string_list,
    )
    context_features: tuple[str, ...] = setting(
        lambda: DEFAULT_CONTEXT_FEATURES,
        "What the prompt may use besides the text around the cursor: `definitions` (from other workspace files), "
        "`imports`, `scopes` (enclosing signatures), `syntax-check` (drop completions that break a file "
        "that parsed), `repo-format` (other files as files of the repository, for models with repository "
        "tokens such as Qwen2.5-Coder's; off by default: it measured worse), and `typing-layout` (a FIM model gets the "
        "cursor's line after `<fim_middle>`, so typing re-evaluates one token, not the text after the cursor; "
        "without it the usual FIM order, slower per keystroke). Remove one to switch it off.",
        subset_of(CONTEXT_FEATURES),
    )
    name_guidance: bool = setting(
        True,
        "Identifier-aware decoding: where the name is known to be an attribute, a module member (`from x import`) "
        "or a keyword argument, the model may only write a name that exists (Python: jedi; other languages: members "
        "of the enclosing class from tree-sitter). Unknown objects stay free.",
        None,
    )
    log_level: str = setting("info", "Server log level.", one_of(LOG_LEVELS))
    prometheus_url: str | None = setting(
        None, "Prometheus to watch for anomalies (`fireside monitor` runs beside the server). Empty: off.", http_url
    )
    alertmanager_url: str | None = setting(None, "Alertmanager that receives the anomaly alerts. Empty: none.", http_url)
    monitor_queries: tuple[str, ...] = setting(
        lambda: (), "PromQL queries to watch (empty: the monitor's defaults or its config file).", string_list
    )
    monitor_config: str | None = setting(None, "A `fireside monitor` config file.", non_empty_path)
    models_dir: str | None = setting(
        None,
        "A directory of GGUF models to watch: a new or replaced `.gguf` is validated in the background and, if it "
        "passes, served instead of the current model (`fireside models list|validate|rollback`). Empty: off.",
        non_empty_path,
    )
    model_latency_budget_ms: int = setting(
        10_000,
        "A candidate model from `modelsDir` is rejected when its median smoke-test completion takes longer.",
        between(1, 600_000),
    )
    endpoints: tuple[str, ...] = setting(
        lambda: (),
        "OpenAI-compatible inference servers (llama.cpp server, llama-cpp-python, vLLM, Ollama) that get the "
        "completion and code-action prompts instead of the local model. Empty: nothing leaves this machine.",
        http_url_list,
    )
    endpoint_api_key_env: str | None = setting(
        None, "The environment variable holding the endpoints' API key (sent as a Bearer token, never logged).",
        environment_name,
    )
    endpoint_timeout_ms: int = setting(
        15_000, "An endpoint slower than this for one request is skipped for the next one.", between(100, 600_000)
    )
    endpoint_fallback_to_local: bool = setting(
        True, "When every endpoint is down, complete with the local model (false: answer empty).", None
    )
    max_file_size: int = setting(
        2_000_000, "Documents larger than this many characters get no completions.", between(1, 100_000_000)
    )
    testgen_rounds: int = setting(
        3,
        "Coverage rounds of \"Generate Hypothesis tests\" after its tests are verified: the first tries inputs mined "
        "from the code, the others ask the model for inputs that reach the branches still missed. 0: none.",
        between(0, 10),
    )
    testgen_time_budget: int = setting(
        60, "Seconds \"Generate Hypothesis tests\" may spend on one module; no coverage round starts after them.",
        between(5, 3600),
    )

    def replace(self, **changes: Any) -> FiresideConfig:
        return dataclasses.replace(self, **changes)

    @property
    def effective_threads(self) -> int:
        # llama.cpp's threads spin while they wait for each other: when another process takes one
        # of them, a token can cost 50x more (measured here: 2 threads on 2 busy cores). So with 0 the
        # model starts with one core left for the editor, then follows the machine's load
        # (completion/thread_policy.py).
        return self.threads or min(8, max(1, (os.cpu_count() or 1) - 1))


# Settings that load a file, contact a server or name a secret: a workspace must not be able to point
# them elsewhere. The server takes them only from its command line (these flags); editor settings
# (initializationOptions, workspace/configuration, didChangeConfiguration) cannot be told apart from a
# workspace's, so their values there are ignored. The VS Code extension passes the user-level values
# (never workspace ones) as these flags.
RESTRICTED_SETTINGS: dict[str, str] = {
    "model_path": "--model",
    "models_dir": "--models-dir",
    "endpoints": "--endpoint",
    "endpoint_api_key_env": "--endpoint-api-key-env",
    "prometheus_url": "--prometheus-url",
    "alertmanager_url": "--alertmanager-url",
    "monitor_config": "--monitor-config",
}
_RESTRICTED_NOTE = " Taken only from the command line or, in VS Code, from user settings (never a workspace's)."


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


SETTING_NAMES: dict[str, str] = {_camel(f.name): f.name for f in dataclasses.fields(FiresideConfig)}


def without_restricted(raw: Any) -> tuple[Any, dict[str, str]]:
    """``raw`` editor settings without the restricted ones, and {shown name: flag} of those that were
    set to something (an empty value asks for nothing and is dropped silently)."""
    if not isinstance(raw, Mapping):
        return raw, {}
    kept: dict[str, Any] = {}
    dropped: dict[str, str] = {}
    for key, value in raw.items():
        name = SETTING_NAMES.get(key, key)
        if name in RESTRICTED_SETTINGS:
            if value not in (None, "", [], ()):
                dropped[_camel(name)] = RESTRICTED_SETTINGS[name]
            continue
        kept[key] = value
    return kept, dropped


def setting_descriptions() -> dict[str, dict[str, Any]]:
    """camelCase name → default and description; the extension's package.json is checked against it."""
    defaults = FiresideConfig()
    return {
        _camel(f.name): {
            "default": getattr(defaults, f.name),
            "description": f.metadata["description"] + (_RESTRICTED_NOTE if f.name in RESTRICTED_SETTINGS else ""),
            "restricted": f.name in RESTRICTED_SETTINGS,
        }
        for f in dataclasses.fields(FiresideConfig)
    }


def merge_config(
    base: FiresideConfig, raw: Mapping[str, Any] | None
) -> tuple[FiresideConfig, list[ConfigProblem]]:
    """Apply settings from ``raw`` (camelCase or snake_case keys) on top of ``base``; a bad value is
    reported and falls back to the default of that setting, never to a crash."""
    return merge_settings(base, raw, field_name=lambda key: SETTING_NAMES.get(key, key), shown_name=_camel)
