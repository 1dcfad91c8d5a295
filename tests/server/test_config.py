"""The typed config: camelCase or snake_case in, bad values reported and replaced by defaults."""

from fireside.config import FiresideConfig, merge_config, setting_descriptions


def test_camel_case_settings_are_applied():
    config, problems = merge_config(FiresideConfig(), {"maxTokens": 12, "enabledLanguages": ["python", "rust"]})
    assert problems == []
    assert config.max_tokens == 12
    assert config.enabled_languages == ("python", "rust")


def test_bad_values_fall_back_to_defaults_and_are_reported():
    base = FiresideConfig().replace(max_tokens=99)
    config, problems = merge_config(base, {"maxTokens": 0, "debounceMs": "soon", "logLevel": "loud", "contextSize": 2048})
    assert config.max_tokens == FiresideConfig().max_tokens
    assert config.debounce_ms == FiresideConfig().debounce_ms
    assert config.log_level == "info"
    assert config.context_size == 2048  # the good value next to the bad ones is kept
    assert {p.setting for p in problems} == {"maxTokens", "debounceMs", "logLevel"}
    assert all("using the default" in str(p) for p in problems)


def test_unknown_keys_and_non_objects_are_reported_not_fatal():
    config, problems = merge_config(FiresideConfig(), {"nonsense": 1})
    assert config == FiresideConfig()
    assert problems and problems[0].setting == "nonsense"
    config, problems = merge_config(FiresideConfig(), ["not", "an", "object"])
    assert config == FiresideConfig() and problems


def test_booleans_are_not_numbers_and_strings_are_not_lists():
    _, problems = merge_config(FiresideConfig(), {"maxTokens": True, "enabledLanguages": "python"})
    assert {p.setting for p in problems} == {"maxTokens", "enabledLanguages"}


def test_empty_model_path_means_the_embedded_model():
    config, problems = merge_config(FiresideConfig().replace(model_path="/x.gguf"), {"modelPath": ""})
    assert config.model_path is None and problems == []


def test_every_setting_is_described():
    descriptions = setting_descriptions()
    assert set(descriptions) >= {"modelPath", "contextSize", "maxTokens", "threads", "debounceMs", "enabledLanguages", "logLevel"}
    assert all(entry["description"] for entry in descriptions.values())


def test_strings_and_numbers_are_not_booleans():
    config, problems = merge_config(FiresideConfig(), {"endpointFallbackToLocal": "no"})
    assert config.endpoint_fallback_to_local is True  # the default, not bool("no")
    assert [p.setting for p in problems] == ["endpointFallbackToLocal"]
    config, problems = merge_config(FiresideConfig(), {"endpointFallbackToLocal": 0})
    assert problems and config.endpoint_fallback_to_local is True
    config, problems = merge_config(FiresideConfig(), {"endpointFallbackToLocal": False})
    assert not problems and config.endpoint_fallback_to_local is False


def test_restricted_settings_are_dropped_from_editor_settings_and_named_with_their_flag():
    from fireside.config import RESTRICTED_SETTINGS, without_restricted

    kept, dropped = without_restricted(
        {"modelPath": "/evil.gguf", "endpoint_api_key_env": "AWS_SECRET", "endpoints": [], "maxTokens": 9, "prometheusUrl": ""}
    )
    assert kept == {"maxTokens": 9}
    assert dropped == {"modelPath": "--model", "endpointApiKeyEnv": "--endpoint-api-key-env"}, "empty values ask for nothing"
    assert set(RESTRICTED_SETTINGS) == {
        "model_path", "models_dir", "endpoints", "endpoint_api_key_env", "prometheus_url", "alertmanager_url", "monitor_config",
    }
    descriptions = setting_descriptions()
    assert descriptions["endpointApiKeyEnv"]["restricted"] and not descriptions["maxTokens"]["restricted"]
    assert "never a workspace's" in descriptions["modelPath"]["description"]
