"""``python -m mentoreval`` runs the command line."""

from mentoreval.cli import main

# guarded: a spawned process (a batch worker, the report's helper) imports the main module
if __name__ == "__main__":
    main()
