"""`python -m transconv`: the command line of `transconv.cli`."""

import sys

try:  # importing torch takes seconds: Ctrl-C then is a stop too, not a traceback
    from transconv.cli import main
except KeyboardInterrupt:
    if __name__ == "__main__":
        print("transconv: error: stopped by SIGINT; nothing was written", file=sys.stderr)
        raise SystemExit(130) from None
    raise

if __name__ == "__main__":
    raise SystemExit(main())
