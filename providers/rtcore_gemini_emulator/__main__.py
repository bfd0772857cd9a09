"""``python -m rtcore_gemini_emulator``: the same as ``rtcore gemini-emulator``."""

import argparse
import sys

from .cli import configure, run

parser = argparse.ArgumentParser(prog="python -m rtcore_gemini_emulator")
configure(parser)
sys.exit(run(parser.parse_args()))
