"""`python -m genmbo` runs the command line."""

from genmbo.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
