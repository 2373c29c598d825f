"""``python -m mentoreval`` runs the command line."""

from mentoreval.cli import main

main()
