"""`python -m bot.cli`: the same as the `hubkeeper` command."""

from bot.cli import main

main()
