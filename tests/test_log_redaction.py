"""No secret reaches a log line, from any library at any level: the SecretFilter on the handlers."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import threading
from collections.abc import Iterator

import pytest

from mmbridge.api import HTTPAPI
from mmbridge.api.redaction import MASK, SecretFilter
from mmbridge.appservice.receiver import IntegrationTokens
from mmbridge.bridge import load_config
from mmbridge.bridge.logs import JSONFormatter, config_secrets, configure_logging, install_secret_filter
from mmbridge.db import Database

TOKEN = "k3j4h5g6f7d8s9a0q1w2e3r4t5"  # 26 characters, like every Mattermost token
PUPPET_TOKEN = "p0u9p8p7e6t5t4o3k2e1n0z9y8"
PASSWORD = "correct horse, battery!"  # not token-shaped: masked as a plain substring


class Logs:
    """A root handler writing to a string, and the loggers' levels to put back afterwards."""

    def __init__(self, formatter: logging.Formatter | None = None) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter or logging.Formatter("%(name)s %(levelname)s %(message)s"))

    @property
    def text(self) -> str:
        return self.stream.getvalue()


@pytest.fixture
def logs() -> Iterator[Logs]:
    """Only this test's handler on the root logger (pytest's own are put back after), at DEBUG."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    quiet = logging.getLogger("mmbridge.db.sql")
    saved_quiet = quiet.level
    captured = Logs()
    root.handlers = [captured.handler]
    root.setLevel(logging.DEBUG)
    quiet.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.handlers = saved_handlers
        root.setLevel(saved_level)
        quiet.setLevel(saved_quiet)


async def test_sql_at_debug_is_logged_without_its_parameters(logs: Logs) -> None:
    """The SQLite backend logs each statement's text, never its parameters: no token reaches the
    log even with no filter installed."""
    db = Database.create("sqlite:///:memory:", upgrade_table=[], owner="log-test")
    await db.start()
    try:
        await db.execute("CREATE TABLE puppet (user_id TEXT, token TEXT)")
        await db.execute("INSERT INTO puppet VALUES ($1, $2)", "u" * 26, PUPPET_TOKEN)
        async with db.transaction() as conn:
            await conn.defer("UPDATE puppet SET token = $1", TOKEN)
        assert await db.fetchval("SELECT COUNT(*) FROM puppet WHERE token = $1", TOKEN) == 1
    finally:
        await db.stop()
    assert "INSERT INTO puppet VALUES" in logs.text  # the statement is logged...
    assert "UPDATE puppet SET token" in logs.text  # (a held one too)
    assert "u" * 26 not in logs.text  # ...without any parameter
    assert TOKEN not in logs.text
    assert PUPPET_TOKEN not in logs.text


def test_authorization_headers_and_token_parameters_are_masked(logs: Logs) -> None:
    install_secret_filter()  # patterns only: nothing registered
    log = logging.getLogger("aiohttp.client")
    other = "zyxwvutsrqponmlkjihgfedcba"
    log.debug("sending headers %s", {"Authorization": f"Bearer {other}", "Accept": "application/json"})
    log.debug("Authorization: Token %s", other)
    log.debug("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.signature-part")
    log.info("GET /mattermost/command?token=%s&user_id=%s", "notshaped-but-a-token", "u" * 26)
    log.info("body %s", json.dumps({"token": other, "token_id": "i" * 26}))
    log.info("connecting to postgres://bridge:%s@db.internal/bridge", "hunter2hunter2")
    text = logs.text
    assert other not in text
    assert "eyJhbGciOiJIUzI1NiJ9" not in text
    assert "notshaped-but-a-token" not in text
    assert "hunter2hunter2" not in text
    assert "'Authorization': 'Bearer ***'" in text
    assert "Authorization: Token ***" in text
    assert "?token=***&user_id=" + "u" * 26 in text  # the rest of the query string stays
    assert '"token": "***"' in text
    assert '"token_id": "' + "i" * 26 + '"' in text  # an id, not a secret
    assert "postgres://bridge:***@db.internal/bridge" in text
    assert "'Accept': 'application/json'" in text


def test_a_token_in_an_exception_is_masked_in_the_traceback(logs: Logs) -> None:
    install_secret_filter([TOKEN, PASSWORD])
    log = logging.getLogger("asyncpg.pool")
    try:
        raise RuntimeError(f"login with {TOKEN} and {PASSWORD} refused")
    except RuntimeError:
        log.exception("could not connect as %s", TOKEN)
    text = logs.text
    assert "Traceback (most recent call last)" in text
    assert f"RuntimeError: login with {MASK} and {MASK} refused" in text
    assert f"could not connect as {MASK}" in text
    assert TOKEN not in text
    assert PASSWORD not in text


def test_other_text_is_left_alone(logs: Logs) -> None:
    install_secret_filter([TOKEN])
    lines = [
        "POST /api/v4/posts -> 201 in 3.2 ms",
        "refused a webhook request with an unknown token",
        "puppet for user " + "u" * 26 + " in channel " + "c" * 26,
        "token expired; Bearer tokens are renewed",
        "100% done, token_id " + "t" * 26,
    ]
    log = logging.getLogger("mmbridge.test")
    for line in lines:
        log.info("%s", line)
    assert logs.text.splitlines() == [f"mmbridge.test INFO {line}" for line in lines]


def test_the_json_formatter_output_is_masked(logs: Logs) -> None:
    logs.handler.setFormatter(JSONFormatter())
    install_secret_filter([TOKEN])
    try:
        raise ValueError(f"bad token {TOKEN}")
    except ValueError:
        logging.getLogger("mmbridge.appservice").error("renewing %s failed", TOKEN, exc_info=True)
    entry = json.loads(logs.text.strip())
    assert entry["message"] == f"renewing {MASK} failed"
    assert f"ValueError: bad token {MASK}" in entry["exception"]
    assert TOKEN not in logs.text


def test_handlers_of_other_loggers_and_bad_format_strings(logs: Logs) -> None:
    own = Logs()
    private = logging.getLogger("mmbridge.test.private")
    private.addHandler(own.handler)
    private.propagate = False
    try:
        install_secret_filter([TOKEN])
        private.warning("a token %s", TOKEN)
        logging.getLogger("mmbridge.test").warning("%d tokens", TOKEN)  # a bug in a log call
    finally:
        private.removeHandler(own.handler)
        private.propagate = True
    assert own.text == f"mmbridge.test.private WARNING a token {MASK}\n"
    assert "unformattable" in logs.text
    assert TOKEN not in logs.text


def test_installing_again_reuses_the_filter_and_keeps_its_secrets(logs: Logs) -> None:
    first = install_secret_filter([TOKEN])
    second = install_secret_filter([PUPPET_TOKEN])
    assert first is second
    assert logs.handler.filters == [first]
    logging.getLogger("x").info("%s %s", TOKEN, PUPPET_TOKEN)
    assert logs.text == f"x INFO {MASK} {MASK}\n"


def test_configure_logging_puts_the_filter_on_every_handler_and_keeps_secrets() -> None:
    stream = io.StringIO()
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {"out": {"class": "logging.StreamHandler"}},
        "root": {"level": "INFO", "handlers": ["out"]},
    }
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level

    def the_handler() -> logging.StreamHandler[io.StringIO]:
        (handler,) = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)  # type: ignore[arg-type]
        return handler

    try:
        secret_filter = configure_logging(config, secrets=[TOKEN])
        assert the_handler().filters == [secret_filter]
        logging.getLogger("mmbridge").info("bot token %s", TOKEN)
        secret_filter.add(PUPPET_TOKEN)
        again = configure_logging(config)  # a new dictConfig: new handlers, the same secrets
        assert again is secret_filter
        assert the_handler().filters == [secret_filter]
        logging.getLogger("asyncpg").info("%s", PUPPET_TOKEN)
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
        root.handlers = saved_handlers
        root.setLevel(saved_level)
    assert stream.getvalue() == f"bot token {MASK}\n{MASK}\n"


def test_tokens_handed_to_the_client_and_the_receiver_are_registered() -> None:
    secret_filter = SecretFilter()
    http = HTTPAPI("http://127.0.0.1:1", TOKEN, redactor=secret_filter)
    assert http.with_token(PUPPET_TOKEN).redactor is secret_filter
    tokens = IntegrationTokens(redactor=secret_filter)
    tokens.add("webhook", "hooktoken-not-26-chars-long")
    assert secret_filter.redact(f"{TOKEN} {PUPPET_TOKEN} hooktoken-not-26-chars-long") == " ".join([MASK] * 3)
    assert len(secret_filter) == 3
    secret_filter.add("short")  # too short to mask without garbling the log
    assert secret_filter.redact("short") == "short"


def test_redaction_is_safe_while_secrets_are_added_from_another_thread() -> None:
    secret_filter = SecretFilter()
    line = f"executing INSERT ... ('{TOKEN}')"
    errors: list[BaseException] = []

    def add_many() -> None:
        try:
            for n in range(5000):
                secret_filter.add(f"{n:026d}")
                secret_filter.add(f"pw {n} !")  # another length, another kind
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    adder = threading.Thread(target=add_many)
    adder.start()
    while adder.is_alive():
        secret_filter.redact(line)
    adder.join()
    secret_filter.add(TOKEN)
    assert errors == []
    assert secret_filter.redact(line) == f"executing INSERT ... ('{MASK}')"


def test_every_secret_of_the_config_is_found_for_the_filter() -> None:
    text = f"""\
mattermost: {{url: "https://chat.example.com", token: {TOKEN}, team: ops}}
appservice: {{id: irc}}
puppets: {{username_template: "irc_{{localpart}}"}}
database: {{uri: "postgres://bridge:s3cret-pw@db.internal/bridge"}}
"""
    config = load_config("config.yaml", text=text, env={})
    found = config_secrets(config.core, config.section)
    assert TOKEN in found
    assert "s3cret-pw" in found
    # The rest of a database URL says which database is meant and is not masked in the logs.
    assert "postgres://bridge:s3cret-pw@db.internal/bridge" not in found
    assert config_secrets(load_config("c.yaml", text=text.replace("bridge:s3cret-pw@", ""), env={}).core) == [
        TOKEN
    ]
    in_query = text.replace("bridge:s3cret-pw@db.internal/bridge", "db.internal/bridge?password=qp-s3cret")
    assert "qp-s3cret" in config_secrets(load_config("q.yaml", text=in_query, env={}).core)
    assert "s3cret-pw" in found  # the password alone too, wherever it shows up
    assert "https://chat.example.com" not in found  # not a secret
