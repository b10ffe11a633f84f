"""Command line: ``python -m landscape4d PHOTO|SCENE [options]`` and ``python -m landscape4d export SCENE ...``."""

from __future__ import annotations

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
