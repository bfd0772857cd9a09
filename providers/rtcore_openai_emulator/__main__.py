"""``python -m rtcore_openai_emulator``: the same as ``rtcore openai-emulator``."""

import argparse
import sys

from .cli import configure, run

parser = argparse.ArgumentParser(prog="python -m rtcore_openai_emulator")
configure(parser)
sys.exit(run(parser.parse_args()))
