"""The command line: each module turns commands into calls of the stages, and results into
text and exit codes (`runtime`); `app` is the command group."""
