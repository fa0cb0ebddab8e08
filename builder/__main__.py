import sys

from builder.cli import main

sys.exit(main(prog="python -m builder"))
