"""`python -m cymangum.runtime module:attr`."""

import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
