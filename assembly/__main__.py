"""``python -m assembly``: see :mod:`assembly.cli`."""

import sys

from assembly.cli import main

sys.exit(main())
