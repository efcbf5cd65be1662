"""``python -m devstack run``: the process supervisor behind ``make run``."""

import sys

from devstack.supervisor import main

sys.exit(main())
