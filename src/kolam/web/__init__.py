"""The browser app: static pages and ES modules, no build step, served by the API process (see README.md)."""

from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"
