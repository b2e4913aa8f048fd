"""`python -m polybot_device` is the same as the `polybot-device` command."""

import sys

from .cli import main

sys.exit(main())
