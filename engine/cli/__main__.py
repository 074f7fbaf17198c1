"""``python -m engine.cli``: the same as the ``flowscope-cli`` command."""

import sys

from . import main

sys.exit(main())
