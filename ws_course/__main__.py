"""``python -m ws_course serve echo``: the same as the ``ws-course`` command."""

import sys

from .cli import main

sys.exit(main())
