"""`python -m cymangum`: the same as the `cymangum` command."""

import sys

from .cli import main

sys.exit(main())
