"""The VS Code extension's package.json agrees with the server: every server setting is contributed with the
same type, default, limits and description (and every contributed setting is the server's or the client's own),
the custom methods in protocol.ts are the ones in protocol.py, and every command has a handler."""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from pathlib import Path

import pytest

from fireside import protocol
from fireside.config import RESTRICTED_SETTINGS, FiresideConfig, merge_config, setting_descriptions

EXTENSION = Path(__file__).resolve().parents[2] / "vscode-extension"
PACKAGE = json.loads((EXTENSION / "package.json").read_text())
PROPERTIES: dict[str, dict] = PACKAGE["contributes"]["configuration"]["properties"]
SCOPES = {"application", "machine", "machine-overridable", "window", "resource", "language-overridable"}
SERVER_SETTINGS = setting_descriptions()
HINTS = typing.get_type_hints(FiresideConfig)
FIELD_BY_CAMEL = {name: field for name, field in zip(SERVER_SETTINGS, dataclasses.fields(FiresideConfig))}


def client_only_settings() -> set[str]:
    """CLIENT_ONLY_SETTINGS in vscode-extension/src/settings.ts: the settings the extension keeps to itself."""
    source = (EXTENSION / "src" / "settings.ts").read_text()
    match = re.search(r"CLIENT_ONLY_SETTINGS[^=]*= new Set\(\[([^\]]*)\]\)", source)
    assert match, "CLIENT_ONLY_SETTINGS not found in settings.ts"
    return set(re.findall(r"'([^']+)'", match.group(1)))


def json_types(hint: typing.Any) -> list[typing.Any]:
    """The package.json "type" values that fit a config field's type hint."""
    args = typing.get_args(hint)
    if type(None) in args:  # Optional[X]: X, where empty/null means the default
        (inner,) = [arg for arg in args if arg is not type(None)]
        return [*json_types(inner), [json_types(inner)[0], "null"]]
    if hint is bool:
        return ["boolean"]
    if hint is int:
        return ["integer"]
    if hint is float:
        return ["number"]
    if hint is str:
        return ["string"]
    if typing.get_origin(hint) is tuple:
        return ["array"]
    raise AssertionError(f"no JSON type for {hint}: teach this test")


def problems(name: str, value: typing.Any) -> list:
    return merge_config(FiresideConfig(), {name: value})[1]


@pytest.mark.parametrize("name", list(SERVER_SETTINGS))
def test_every_server_setting_is_contributed_alike(name: str) -> None:
    key = f"fireside.{name}"
    assert key in PROPERTIES, f"package.json lacks {key}"
    prop = PROPERTIES[key]
    assert prop.get("scope") in SCOPES, key
    assert prop.get("markdownDescription") == SERVER_SETTINGS[name]["description"], key
    hint = HINTS[FIELD_BY_CAMEL[name].name]
    assert prop.get("type") in json_types(hint), key
    server_default = SERVER_SETTINGS[name]["default"]
    if server_default is None:  # "" for a string the user clears, or null
        assert prop.get("default") in ("", None), key
    else:
        expected = list(server_default) if isinstance(server_default, tuple) else server_default
        assert prop.get("default") == expected, key
    # The contributed default, sent as the user's value, is what the server would use anyway.
    config, found = merge_config(FiresideConfig(), {name: prop["default"]})
    assert found == [] and config == FiresideConfig(), (key, found)
    if prop["type"] == "array":
        assert prop.get("items", {}).get("type") == "string", key


@pytest.mark.parametrize("name", [n for n in SERVER_SETTINGS if PROPERTIES.get(f"fireside.{n}", {}).get("type") == "integer"])
def test_integer_limits_are_the_servers(name: str) -> None:
    prop = PROPERTIES[f"fireside.{name}"]
    assert "minimum" in prop and "maximum" in prop, f"fireside.{name} should state its limits"
    assert problems(name, prop["minimum"]) == [] and problems(name, prop["maximum"]) == []
    assert problems(name, prop["minimum"] - 1) != [], "the server accepts less than the minimum"
    assert problems(name, prop["maximum"] + 1) != [], "the server accepts more than the maximum"


@pytest.mark.parametrize(
    "key",
    [k for k, p in PROPERTIES.items() if k.removeprefix("fireside.") in SERVER_SETTINGS and ("enum" in p or "enum" in p.get("items", {}))],
)
def test_enumerations_are_accepted_by_the_server(key: str) -> None:
    name = key.removeprefix("fireside.")
    prop = PROPERTIES[key]
    if "enum" in prop:
        for value in prop["enum"]:
            assert problems(name, value) == [], value
        assert problems(name, "surely-not-a-choice") != []
    else:
        assert problems(name, prop["items"]["enum"]) == []
        assert problems(name, ["surely-not-a-choice"]) != []


def test_every_contributed_setting_is_the_servers_or_the_clients() -> None:
    client_only = client_only_settings()
    assert client_only == {"enable", "path", "interpreter", "trace.server"}
    for key, prop in PROPERTIES.items():
        name = key.removeprefix("fireside.")
        assert key.startswith("fireside."), key
        assert name in SERVER_SETTINGS or name in client_only, f"{key} is neither a server nor a client setting"
        assert prop.get("scope") in SCOPES and prop.get("markdownDescription") and "default" in prop and "type" in prop, key
    assert PROPERTIES["fireside.enable"]["scope"] == "language-overridable"


def test_the_restricted_settings_are_the_servers_user_scoped_and_restricted_in_untrusted_workspaces() -> None:
    """settings.ts turns them into the same flags the server reads them from; VS Code never takes them from a
    workspace (scope machine), nor fireside.path/interpreter from an untrusted one."""
    source = (EXTENSION / "src" / "settings.ts").read_text()
    block = re.search(r"RESTRICTED_SETTINGS[^=]*= \{([^}]*)\}", source)
    assert block, "RESTRICTED_SETTINGS not found in settings.ts"
    mirrored = dict(re.findall(r"(\w+): '([^']+)'", block.group(1)))
    server = {name: flag for name, flag in RESTRICTED_SETTINGS.items()}
    assert mirrored == {key: server[field.name] for key, field in FIELD_BY_CAMEL.items() if field.name in server}
    restricted = set(PACKAGE["capabilities"]["untrustedWorkspaces"]["restrictedConfigurations"])
    assert PACKAGE["capabilities"]["untrustedWorkspaces"]["supported"] == "limited"
    assert restricted == {"fireside.path", "fireside.interpreter"} | {f"fireside.{name}" for name in mirrored}
    for name in mirrored:
        assert PROPERTIES[f"fireside.{name}"]["scope"] == "machine", name


def test_protocol_ts_mirrors_protocol_py() -> None:
    source = (EXTENSION / "src" / "protocol.ts").read_text()
    mirrored = dict(re.findall(r"export const (\w+) = '([^']+)';", source))
    methods = {name: value for name, value in vars(protocol).items() if name.endswith(("_NOTIFICATION", "_REQUEST"))}
    assert methods, "protocol.py declares no methods?"
    for name, value in methods.items():
        assert mirrored.get(name) == value, f"protocol.ts should declare {name} = '{value}'"
        declaration = source[source.index(f"export const {name}") - 200 : source.index(f"export const {name}")]
        assert "Direction:" in declaration, f"{name}: say its direction"
    from fireside.lsp.code_actions import GENERATE_TESTS_KIND

    assert mirrored["GENERATE_TESTS_KIND"] == GENERATE_TESTS_KIND


def test_every_command_has_a_handler_and_every_handler_a_command() -> None:
    contributed = {command["command"] for command in PACKAGE["contributes"]["commands"]}
    registered = set(re.findall(r"registerCommand\('([^']+)'", (EXTENSION / "src" / "extension.ts").read_text()))
    assert contributed == registered
    titles = {f"{c['category']}: {c['title']}" for c in PACKAGE["contributes"]["commands"]}
    assert "Fireside: Generate Hypothesis tests" in titles
