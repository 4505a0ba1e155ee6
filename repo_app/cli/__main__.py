"""``python -m mura.app.cli``: what the tests and the embedded worker run."""

from mura.app.cli import main

main()
