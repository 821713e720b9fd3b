"""`python -m research_agent` runs the `deep-research` command."""

from .cli import main

main()
