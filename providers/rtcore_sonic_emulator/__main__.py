"""``python -m rtcore_sonic_emulator``: the same as ``rtcore emulator``."""

import argparse
import sys

from .cli import configure, run

parser = argparse.ArgumentParser(prog="python -m rtcore_sonic_emulator")
configure(parser)
sys.exit(run(parser.parse_args()))
