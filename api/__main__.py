"""``python -m api`` runs the gridwatch command line."""

from api.cli import main

main()
