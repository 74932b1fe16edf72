"""Entry point: `python -m worker.train --help`."""

import sys

from worker.train.cli import main

if __name__ == "__main__":
    sys.exit(main())
