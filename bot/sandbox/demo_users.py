"""The demo workspace: Slack people whose emails match members of the Docker Hub emulator's `acme` org."""

from __future__ import annotations

from .directory import SlackChannel, SlackIdentity, SlackUser

DEMO_IDENTITY = SlackIdentity()

HUB_OPS = SlackChannel(id="C0HUBOPS01", name="hub-ops")
GENERAL = SlackChannel(id="C0GENERAL1", name="general")
DEMO_CHANNELS: tuple[SlackChannel, ...] = (HUB_OPS, GENERAL)

DEMO_SLACK_USERS: tuple[SlackUser, ...] = (
    SlackUser("U0ALICE01", "alice", "Alice Chen", "alicechen@acme.example", "Alice", hub_role="owner"),
    SlackUser("U0BOBOK01", "bob", "Bob Okafor", "bobokafor@acme.example", "Bob", hub_role="owner"),
    SlackUser("U0ERINP01", "erin", "Erin Patel", "erinpatel@acme.example", "Erin", hub_role="editor"),
    SlackUser("U0DANKI01", "daniel", "Daniel Kim", "danielkim@acme.example", "Daniel", hub_role="editor"),
    SlackUser("U0IVANP01", "ivan", "Ivan Petrov", "ivanpetrov@acme.example", "Ivan", hub_role="member"),
    SlackUser("U0KENJI01", "kenji", "Kenji Sato", "kenjisato@acme.example", "Kenji", hub_role="member"),
    SlackUser("U0PRIYA01", "priya", "Priya Nair", "priyanair@acme.example", "Priya", hub_role="member"),
    SlackUser("U0NEWBI01", "newbie", "Noa Newbie", "newbie@acme.example", "Noa", hub_role=None),
)

# Approvers are the two Docker Hub owners; the platform group mixes roles so group checks are not role checks.
DEMO_USERGROUPS: dict[str, tuple[str, ...]] = {
    "S0APPROVERS": ("U0ALICE01", "U0BOBOK01"),
    "S0PLATFORM": ("U0ALICE01", "U0ERINP01", "U0IVANP01"),
}
