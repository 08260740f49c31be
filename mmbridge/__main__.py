"""``python -m mmbridge``: the ``mmbridge`` command."""

import sys

from .bridge.cli import main

sys.exit(main())
