"""The checked value types of change parameters: each one runs the check the grammar runs.

A parameter comes back from the store as well as from the grammar, so a stored request is checked
again when it is read: a team name that is not path-safe, say, refuses the change rather than
reaching Docker Hub.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator

from handlers import grammar
from hub import paths

Team = Annotated[str, AfterValidator(paths.team)]
"""A team as Docker Hub names it (legacy names included): checked for path safety only."""
NewTeam = Annotated[str, AfterValidator(paths.new_team_name)]
"""A name a team is created or renamed to: Docker Hub's rule for new names applies."""
Username = Annotated[str, AfterValidator(paths.username)]
Namespace = Annotated[str, AfterValidator(paths.namespace)]
Repository = Annotated[str, AfterValidator(paths.repository)]
InviteId = Annotated[str, AfterValidator(paths.invite_id)]
MemberRef = Annotated[str, AfterValidator(grammar.member_ref)]
"""An email or a Docker ID."""
InviteRef = Annotated[str, AfterValidator(grammar.invite_ref)]
"""An invite id, an email or a Docker ID."""
Role = Annotated[str, AfterValidator(grammar.role)]
TeamPermission = Annotated[str, AfterValidator(grammar.permission)]
