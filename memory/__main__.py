"""`python -m memory`: the command line."""

from memory.cli import run

run()
