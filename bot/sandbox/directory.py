"""Who exists in the sandbox workspace: users, channels and the bot's own identity."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SlackUser:
    id: str
    name: str
    real_name: str
    email: str
    display_name: str = ""
    is_bot: bool = False
    deleted: bool = False
    # Not a Slack field: the console labels each person with what they are on Docker Hub, so a tester
    # knows whom to act as. None means the person has no Docker Hub account.
    hub_role: str | None = None

    def to_slack(self, team_id: str) -> dict[str, Any]:
        """The user object as users.info / users.lookupByEmail return it (the fields a bot reads)."""
        display = self.display_name or self.name
        return {
            "id": self.id,
            "team_id": team_id,
            "name": self.name,
            "deleted": self.deleted,
            "real_name": self.real_name,
            "tz": "Europe/Berlin",
            "is_admin": False,
            "is_owner": False,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "profile": {
                "email": self.email,
                "real_name": self.real_name,
                "real_name_normalized": self.real_name,
                "display_name": display,
                "display_name_normalized": display,
            },
        }


@dataclass(frozen=True)
class SlackChannel:
    id: str
    name: str


@dataclass(frozen=True)
class SlackIdentity:
    """The workspace and the bot user, as auth.test reports them."""

    team_id: str = "T0ACME0001"
    team: str = "Acme"
    team_domain: str = "acme"
    bot_user_id: str = "U0HUBKEEP1"
    bot_name: str = "hubkeeper"
    bot_id: str = "B0HUBKEEP1"
    app_id: str = "A0HUBKEEP1"
    # Slack still puts the deprecated verification token in every payload; Bolt ignores it.
    verification_token: str = "sandbox-verification-token"

    @property
    def bot_user(self) -> SlackUser:
        return SlackUser(
            id=self.bot_user_id,
            name=self.bot_name,
            real_name=self.bot_name,
            email="",
            is_bot=True,
        )


def dm_channel_id(user_id: str) -> str:
    """A stable IM channel id per user, shaped like Slack's (D…), so a restart keeps DMs where they were."""
    return "D" + user_id[1:]
