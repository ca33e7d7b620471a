"""`python -m transconv`: the command line of `transconv.cli`."""

from transconv.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
