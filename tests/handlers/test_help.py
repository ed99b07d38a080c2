"""`/hub help` and usage errors, straight from the COMMANDS table."""

from __future__ import annotations

import pytest

from handlers import commands
from handlers.grammar import UsageError
from handlers.help import help_reply, usage_reply
from tests.handlers.slack_limits import all_text, assert_valid_message


def test_help_lists_every_command_with_an_example() -> None:
    reply = help_reply(None, ("acme",))
    assert_valid_message(reply)
    text = all_text(reply)
    for spec in commands.syntaxes():
        assert spec.description in text
        assert f"`{spec.example}`" in text
    assert "/hub whois &lt;email|username&gt;" in text
    assert "--org" not in text  # one instance: nothing to choose


def test_help_names_the_instances_when_there_are_several() -> None:
    reply = help_reply(None, ("acme", "globex"))
    assert_valid_message(reply)
    assert "--org &lt;instance&gt;" in reply.text
    assert "`acme`" in reply.text and "`globex`" in reply.text


def test_help_on_one_command() -> None:
    reply = help_reply("members", ("acme",))
    assert_valid_message(reply)
    spec = commands.spec("members")
    text = all_text(reply)
    assert "/hub members [search] [--role owner|editor|member]" in text
    assert spec.description in text and spec.example in text
    assert "whois" not in text


def test_help_on_an_unknown_topic_suggests() -> None:
    reply = help_reply("memebrs", ("acme",))
    assert_valid_message(reply)
    assert "no command `memebrs`" in reply.text and "Did you mean `members`?" in reply.text


def test_help_on_a_hostile_topic_is_escaped_and_cut() -> None:
    reply = help_reply("<!channel>" + "x" * 500, ("acme",))
    assert_valid_message(reply)
    assert "&lt;!channel&gt;" in reply.text and "x" * 100 not in reply.text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("memebrs", "Did you mean `/hub members`?"),
        ("whois", "*Usage:* `/hub whois &lt;email|username&gt;`"),
        ("members --role admin", "--role must be one of owner, editor, member"),
        ("teams extra", "teams takes no arguments"),
        ('whois "unclosed', "a quote is not closed"),
        ("<!channel>", "unknown command '&lt;!channel&gt;'"),
    ],
)
def test_usage_reply(text: str, expected: str) -> None:
    with pytest.raises(UsageError) as caught:
        commands.parse(text)
    reply = usage_reply(caught.value)
    assert_valid_message(reply)
    assert expected in reply.text
    assert "/hub help" in reply.text
    if caught.value.spec is not None:
        assert caught.value.spec.example in reply.text


def test_usage_reply_for_an_unknown_command_without_a_suggestion() -> None:
    with pytest.raises(UsageError) as caught:
        commands.parse("zzzzzz")
    reply = usage_reply(caught.value)
    assert "Did you mean" not in reply.text and "`/hub help`" in reply.text


def test_usage_reply_cuts_a_long_echo() -> None:
    reply = usage_reply(UsageError("unknown option '--" + "y" * 5000 + "'"))
    assert_valid_message(reply)
    assert len(reply.text) < 500

