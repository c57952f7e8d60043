"""`python -m nktenv`."""

from nktenv.cli import main

if __name__ == "__main__":
    main()
