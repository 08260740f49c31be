"""The YAML config: typed loading, every problem with its path and line, secrets, in-place upgrades."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import attrs
import pytest

from examples.mirror import MirrorBridge
from mmbridge.bridge import Bridge, ConfigError, Secret, SectionSpec, setting
from mmbridge.bridge.config import (
    ConfigFileError,
    CoreConfig,
    layout_of,
    load_config,
    package_base_text,
    plan_upgrade,
    write_upgrade,
)
from mmbridge.bridge.config.loader import read_config_file, section_fields
from mmbridge.bridge.config.upgrade import FieldLayout
from mmbridge.bridge.config.yamltext import key_positions, load_document

MINIMAL = """\
mattermost:
  url: https://chat.example.com
  token: tok-123
  team: ops
appservice:
  id: irc
puppets:
  username_template: irc_{localpart}
"""


def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def problems_of(path: Path, **kwargs: object) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path, **kwargs)  # type: ignore[arg-type]
    return [str(problem) for problem in caught.value.problems]


def test_a_minimal_config_loads_with_typed_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, MINIMAL), env={}).core
    assert config.mattermost.url == "https://chat.example.com"
    assert config.mattermost.token == Secret("tok-123")
    assert config.appservice.port == 29320
    assert config.appservice.receiver_url == "http://127.0.0.1:29320"
    assert config.database.uri.reveal() == "sqlite:///mmbridge.db"
    assert config.puppets.kind == "user"
    assert config.logging["version"] == 1


def test_every_key_of_the_base_config_has_a_comment_above_it() -> None:
    text = MirrorBridge.base_config()
    lines = text.splitlines()
    document = load_document(text, "base")
    positions = [document.lc.key(key) for key in document]
    for key in document:
        if key != "logging":  # the dictConfig's keys are data; the section itself is commented
            positions += list(key_positions(document[key]))
    uncommented = [
        lines[line].strip() for line, _ in positions if not lines[line - 1].strip().startswith("#")
    ]
    assert uncommented == []


def test_the_base_config_knows_every_schema_key_and_no_other() -> None:
    document = load_document(package_base_text(), "base")

    def compare(cls: type, node: object, path: str) -> list[str]:
        assert isinstance(node, dict)
        differences = []
        names = {field.name for field in section_fields(cls)}
        differences += [f"{path}{key}: in the file, not in the schema" for key in node if key not in names]
        for field in section_fields(cls):
            if field.name not in node:
                differences.append(f"{path}{field.name}: in the schema, not in the file")
            elif (
                isinstance(field.type, type)
                and hasattr(field.type, "__attrs_attrs__")
                and field.type is not Secret
            ):
                differences += compare(field.type, node[field.name], f"{path}{field.name}.")
        return differences

    assert compare(CoreConfig, document, "") == []


def test_every_kind_of_bad_value_is_reported_at_once_with_path_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
mattermost:
  url: ftp://chat.example.com
  token: tok
  tem: ops
  timeout: soon
appservice:
  id: Not An Id
  port: 70000
  shutdown_timeout: -1
puppets:
  username_template: no_placeholder
  display_name_template: "{nick}"
  kind: robot
database:
  uri: mysql://u:hunter2@db/x
metrics:
  enabled: "yes"
  listen: nowhere
logging: [1, 2]
""",
    )
    found = problems_of(path, env={})
    where = f"{path}:"
    expected = [
        (4, "mattermost.tem: unknown key; did you mean 'team'?"),
        (2, "mattermost.url: must be an http:// or https:// URL"),
        (5, "mattermost.timeout: expected a number, got text"),
        (1, "mattermost.team: is empty"),
        (7, "appservice.id: must be 1-32 lower-case letters"),
        (8, "appservice.port: must be a port number"),
        (9, "appservice.shutdown_timeout: must be greater than 0"),
        (11, "puppets.username_template: is not a usable username template"),
        (12, "puppets.display_name_template: uses unknown field(s) nick"),
        (13, "puppets.kind: must be one of 'user', 'bot'"),
        (15, "database.uri: unsupported database URL 'mysql://u:***@db/x'"),
        (17, "metrics.enabled: expected true or false, got text"),
        (18, "metrics.listen: must be host:port"),
        (19, "logging: expected a mapping, got a list"),
    ]
    for line, message in expected:
        assert any(p.startswith(f"{where}{line}: {message}") for p in found), (line, message, found)
    assert len(found) == len(expected)
    assert not any("hunter2" in p for p in found)  # a password in a URL is never shown


def test_missing_sections_and_keys_are_named(tmp_path: Path) -> None:
    found = problems_of(write(tmp_path, "mattermost:\n  token: x\n"), env={})
    assert f"{tmp_path / 'config.yaml'}:1: mattermost.url: the key 'url' is missing" in found
    assert any("appservice: the section 'appservice' is missing" in p for p in found)
    assert any("puppets: the section 'puppets' is missing" in p for p in found)


def test_not_yaml_or_no_file_is_a_file_error_with_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match=r"config.yaml:\d+: not valid YAML"):
        load_config(write(tmp_path, "a: 1\nb:\n  - [unclosed\n"))
    with pytest.raises(ConfigFileError, match="no such file"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigFileError, match="top level must be a mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_secrets_come_from_the_environment_files_and_references(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text("from-a-file\n")
    text = MINIMAL.replace("  token: tok-123\n", "  token_file: token\n").replace(
        "  team: ops\n", "  team: ${TEAM_NAME}\n"
    )
    text += "database:\n  uri: postgres://bridge:${DB_PASSWORD}@db/bridge\n"
    text += "metrics:\n  listen: 127.0.0.1:${METRICS_PORT}\n"
    path = write(tmp_path, text)
    env = {
        "TEAM_NAME": "ops",
        "DB_PASSWORD": "s3cret",
        "METRICS_PORT": "9110",
        "MMBRIDGE_APPSERVICE_PORT": "8099",
    }
    config = load_config(path, env=env).core
    assert config.mattermost.token.reveal() == "from-a-file"  # stripped of its newline
    assert config.mattermost.team == "ops"
    assert config.database.uri.reveal() == "postgres://bridge:s3cret@db/bridge"
    assert config.metrics.listen == "127.0.0.1:9110"
    assert config.appservice.port == 8099  # an environment value is read as YAML: a number
    assert "s3cret" not in repr(config)
    assert "from-a-file" not in repr(config)

    credentials = write(
        tmp_path, MINIMAL.replace("token: tok-123", "token_file: ${CREDENTIALS_DIRECTORY}/token"), "c.yaml"
    )
    from_credentials = load_config(credentials, env={"CREDENTIALS_DIRECTORY": str(tmp_path)}).core
    assert from_credentials.mattermost.token.reveal() == "from-a-file"  # systemd's LoadCredential=

    env_token = load_config(path, env={**env, "MMBRIDGE_MATTERMOST_TOKEN": "from-env"}).core
    assert env_token.mattermost.token.reveal() == "from-env"  # the environment wins over the file


def test_secret_problems_never_show_the_secret(tmp_path: Path) -> None:
    text = MINIMAL.replace("  token: tok-123\n", "  token: ${NOT_SET}\n  token_file: /nonexistent/token\n")
    found = problems_of(write(tmp_path, text), env={})
    assert any("mattermost.token: give token or token_file, not both" in p for p in found)
    missing = problems_of(write(tmp_path, MINIMAL.replace("tok-123", "${NOT_SET}")), env={})
    assert any("uses ${NOT_SET}, but the environment variable NOT_SET is not set" in p for p in missing)
    unreadable = problems_of(
        write(tmp_path, MINIMAL.replace("token: tok-123", "token_file: /nonexistent")), env={}
    )
    assert any("mattermost.token_file: cannot read /nonexistent" in p for p in unreadable)
    wrong_type = problems_of(write(tmp_path, MINIMAL), env={"MMBRIDGE_APPSERVICE_PORT": "tok-secret-999"})
    assert any(
        p.startswith("environment variable MMBRIDGE_APPSERVICE_PORT: appservice.port") for p in wrong_type
    )
    assert not any("tok-secret-999" in p for p in wrong_type)


def test_a_literal_dollar_brace_is_written_twice(tmp_path: Path) -> None:
    text = MINIMAL.replace("  team: ops\n", "  team: $${not_a_variable}\n")
    assert load_config(write(tmp_path, text), env={}).core.mattermost.team == "${not_a_variable}"


def test_the_bridge_section_is_typed_and_checked_like_the_rest(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "mirror:\n  channel_a: town-square\n  chanel_b: x\n")
    found = problems_of(path, section=MirrorBridge.section, env={})
    assert f"{path}:11: mirror.chanel_b: unknown key; did you mean 'channel_b'?" in found
    assert f"{path}:9: mirror.channel_b: the key 'channel_b' is missing" in found
    good = write(tmp_path, MINIMAL + "mirror:\n  channel_a: a\n  channel_b: b\n", "good.yaml")
    settings = MirrorBridge.load_config(good, env={}).section
    assert (settings.channel_a, settings.channel_b) == ("a", "b")


# ---- upgrades ---------------------------------------------------------------------------------------

OLD = """\
# Our IRC bridge. Owner: ops team.
mattermost:
    url: https://chat.example.com   # production
    # from the secrets mount
    token_file: /run/secrets/mm
    team: ops

appservice:
    id: irc    # never change this
    legacy_option: 5   # from an older release

puppets:
    username_template: irc_{localpart}
metrics:
"""


def _layout() -> dict[str, FieldLayout]:
    return layout_of(CoreConfig)


def test_an_upgrade_keeps_every_byte_the_user_wrote_and_adds_keys_with_their_comments() -> None:
    report = plan_upgrade(OLD, package_base_text(), _layout(), "config.yaml")
    assert report.changed
    for line in OLD.splitlines():  # every line of the user's file is still there, in order
        assert line in report.text
    kept = [line for line in report.text.splitlines() if line.strip() and line in OLD.splitlines()]
    assert kept == [line for line in OLD.splitlines() if line.strip()]  # ... in the same order
    assert "mattermost.token" not in report.added  # token_file gives it
    assert {"mattermost.timeout", "appservice.port", "database", "logging", "metrics.enabled"} <= set(
        report.added
    )
    # Each added key comes with the comment above it in the base, at the user's indentation.
    assert "    # The receiver's port (0: any free port, for tests).\n    port: 29320\n" in report.text
    assert "\n# Prometheus metrics." not in report.text  # metrics existed; only its keys were added
    assert "metrics:\n  # Serve /metrics on the receiver.\n  enabled: true\n" in report.text
    # The result parses to the user's values plus the defaults.
    document = load_document(report.text, "upgraded")
    assert document["appservice"]["legacy_option"] == 5
    assert document["mattermost"]["url"] == "https://chat.example.com"
    assert document["appservice"]["port"] == 29320


def test_an_up_to_date_config_is_left_alone() -> None:
    base = MirrorBridge.base_config()
    report = plan_upgrade(base, base, MirrorBridge.config_layout(), "config.yaml")
    assert not report.changed
    assert report.text == base
    once = plan_upgrade(OLD, package_base_text(), _layout())
    twice = plan_upgrade(once.text, package_base_text(), _layout())
    assert not twice.changed


def test_the_example_mirror_config_is_complete_and_valid() -> None:
    path = Path(__file__).parents[2] / "examples" / "mirror" / "config.yaml"
    layout = MirrorBridge.config_layout()
    assert not plan_upgrade(
        path.read_text(), MirrorBridge.base_config(), layout
    ).changed  # the demo never edits it
    config = MirrorBridge.load_config(path, env={})
    assert config.core.bridge == "examples.mirror:MirrorBridge"


def test_a_written_upgrade_has_a_backup_keeps_the_mode_and_loads(tmp_path: Path) -> None:
    path = write(tmp_path, OLD.replace("token_file: /run/secrets/mm", "token: tok"))
    path.chmod(0o640)
    report = plan_upgrade(path.read_text(), package_base_text(), _layout(), str(path))
    backup = write_upgrade(path, report.text)
    assert backup.read_text() == OLD.replace("token_file: /run/secrets/mm", "token: tok")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640
    assert path.read_text() == report.text
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left
    # Unknown keys are kept by the upgrade, and refused by the loader with their line: never silent.
    found = problems_of(path, env={})
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "legacy_option" in text)
    assert found == [
        f"{path}:{line}: appservice.legacy_option: unknown key; "
        "known keys: host, id, port, public_url, registration, shutdown_timeout"
    ]


def test_a_flow_style_section_is_not_edited_but_reported() -> None:
    text = MINIMAL + "metrics: {enabled: true}\n"
    report = plan_upgrade(text, package_base_text(), _layout())
    assert "metrics.listen" not in report.added
    assert [p.path for p in report.not_added] == ["metrics.listen"]
    assert "metrics: {enabled: true}" in report.text


def test_the_generated_base_of_a_bridge_has_its_section_and_defaults() -> None:
    base = MirrorBridge.base_config()
    assert "  id: mirror\n" in base
    assert "username_template: mirror_{localpart}" in base
    assert base.rstrip().endswith('channel_b: ""')
    assert Bridge.base_config() == package_base_text()


def test_keys_without_a_default_are_never_filled_in_with_a_placeholder() -> None:
    report = plan_upgrade("mattermost:\n  token: t\n", package_base_text(), _layout())
    assert "mattermost.url" not in report.added  # http://localhost:8065 would go unnoticed
    assert "appservice" not in report.added
    assert "puppets" not in report.added
    assert "mattermost.timeout" in report.added
    base = MirrorBridge.base_config()
    mirror = plan_upgrade(MINIMAL, base, MirrorBridge.config_layout())
    assert "mirror" not in mirror.added  # the bridge's own section is the operator's to write


def test_a_null_section_is_reported_not_broken() -> None:
    report = plan_upgrade(MINIMAL + "metrics: ~\n", package_base_text(), _layout())
    assert "metrics: ~" in report.text
    assert {p.path for p in report.not_added} == {"metrics.enabled", "metrics.listen"}
    assert "database" in report.added  # the rest of the upgrade still happens
    load_document(report.text, "upgraded")  # and the text is YAML


def test_crlf_files_keep_their_line_endings_and_links_are_followed(tmp_path: Path) -> None:
    target = tmp_path / "real.yaml"
    target.write_bytes(MINIMAL.replace("\n", "\r\n").encode())
    link = tmp_path / "config.yaml"
    link.symlink_to(target)
    report = plan_upgrade(read_config_file(link), package_base_text(), _layout(), str(link))
    write_upgrade(link, report.text)
    assert link.is_symlink()
    raw = target.read_bytes()
    assert b"\r\n" in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert load_config(link, env={}).core.metrics.enabled


def test_a_secret_from_a_file_or_the_environment_is_taken_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("pa${not a var}$${x}ss\n")
    path = write(tmp_path, MINIMAL.replace("token: tok-123", "token_file: token"))
    assert load_config(path, env={}).core.mattermost.token.reveal() == "pa${not a var}$${x}ss"
    from_env = load_config(write(tmp_path, MINIMAL, "e.yaml"), env={"MMBRIDGE_MATTERMOST_TOKEN": "a${B}c"})
    assert from_env.core.mattermost.token.reveal() == "a${B}c"


def test_lists_are_lists(tmp_path: Path) -> None:
    @attrs.frozen
    class Channels:
        names: list[str] = setting(factory=list)

    spec = SectionSpec("chan", Channels)
    found = problems_of(write(tmp_path, MINIMAL + "chan:\n  names: general\n"), section=spec, env={})
    assert found == [f"{tmp_path / 'config.yaml'}:10: chan.names: expected a list, got text"]
    ok = load_config(write(tmp_path, MINIMAL + "chan:\n  names: [a, b]\n", "ok.yaml"), spec, env={})
    assert ok.section.names == ["a", "b"]


def test_a_list_or_a_mapping_comes_from_the_environment_as_yaml(tmp_path: Path) -> None:
    @attrs.frozen
    class Channels:
        names: list[str] = setting(factory=list)
        aliases: dict[str, str] = setting(factory=dict)
        topic: str | None = setting(default=None)

    spec = SectionSpec("chan", Channels)
    env = {
        "MMBRIDGE_CHAN_NAMES": "[general, random]",
        "MMBRIDGE_CHAN_ALIASES": "{irc: chat}",
        "MMBRIDGE_CHAN_TOPIC": "[not, a, list]",
        "MMBRIDGE_COMMANDS_ADMINS": "[alice, bob]",
    }
    loaded = load_config(write(tmp_path, MINIMAL), spec, env=env)
    assert loaded.section.names == ["general", "random"]
    assert loaded.section.aliases == {"irc": "chat"}
    assert loaded.section.topic == "[not, a, list]"  # text stays text
    assert loaded.core.commands.admins == ["alice", "bob"]
    found = problems_of(
        write(tmp_path, MINIMAL, "bad.yaml"), section=spec, env={"MMBRIDGE_CHAN_NAMES": "general"}
    )
    assert found == ["environment variable MMBRIDGE_CHAN_NAMES: chan.names: expected a list, got text"]
