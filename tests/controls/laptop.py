"""Python in a subprocess with no pin factory chosen, as on a laptop (or a Pi without a pin library)."""

import os
import subprocess
import sys

NO_FACTORY_ENV = {k: v for k, v in os.environ.items() if not k.startswith("GPIOZERO_")}


def python(code, *args, env=NO_FACTORY_ENV, **kw):
    return subprocess.Popen([sys.executable, "-c", code, *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)
