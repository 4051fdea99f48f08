"""``python -m harness``: see harness.main."""

from .main import main

main()
