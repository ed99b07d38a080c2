"""The console sends a typed command as Slack does with the manifest's `should_escape: true`, and the
bot's parser gets back what was typed (mentions stay tokens)."""

from __future__ import annotations

import pytest

from bot.sandbox.demo_users import DEMO_SLACK_USERS
from bot.sandbox.payloads import escaped_command_text
from handlers.commands import slack_text


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("access @erin", "access <@U0ERINP01|erin>"),
        ("access @ghost", "access @ghost"),  # nobody on Slack: left as text
        ("whois erinpatel@acme.example", "whois <mailto:erinpatel@acme.example|erinpatel@acme.example>"),
        ("remove umarkhan --reason a & <b>", "remove umarkhan --reason a &amp; &lt;b&gt;"),
        (
            "team add backend x@acme.example --reason ask @bob",
            ("team add backend <mailto:x@acme.example|x@acme.example> --reason ask <@U0BOBOK01|bob>"),
        ),
    ],
)
def test_escaped_as_slack_and_read_back(typed: str, sent: str) -> None:
    assert escaped_command_text(typed, DEMO_SLACK_USERS) == sent
    expected = typed.replace("@erin", "<@U0ERINP01|erin>").replace("@bob", "<@U0BOBOK01|bob>")
    assert slack_text(sent) == expected
