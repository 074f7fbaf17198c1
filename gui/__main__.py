"""``python -m gui``: the same as the ``flowscope`` launcher."""

import sys

from .app import main

sys.exit(main())
