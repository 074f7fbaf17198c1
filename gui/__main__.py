"""``python -m gui``: the same as the ``flowscope`` launcher."""

import sys

from gui.app import main

sys.exit(main())
