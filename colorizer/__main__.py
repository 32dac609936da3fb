"""`python -m colorizer ...`: see colorizer.cli."""
from colorizer.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
