"""`python -m tools.i18n extract|check|compile`."""

from __future__ import annotations

import argparse
import sys

from tools.i18n import catalog


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.i18n", description="nktenv translation catalogs")
    parser.add_argument("action", choices=("extract", "check", "compile"))
    parser.add_argument("-v", "--verbose", action="store_true", help="extract: list the new message ids")
    parser.add_argument("--prune", action="store_true", help="extract: drop obsolete (#~) translations")
    args = parser.parse_args(argv)
    if args.action == "extract":
        added = catalog.update(keep_obsolete=not args.prune)
        total = len(catalog.extract().messages)
        print(f"{total} messages in {catalog.POT.relative_to(catalog.REPO)}")
        for lang, ids in added.items():
            print(f"{lang}: {len(ids)} new message(s) to translate")
            for msgid in ids if args.verbose else ():
                print(f"  + {msgid!r}")
        return 0
    if args.action == "compile":
        for path in catalog.po.compile_tree(catalog.LOCALE):
            print(path.relative_to(catalog.REPO))
        return 0
    result = catalog.check()
    for problem in result.problems:
        print(problem)
    for lang, done in result.translated.items():
        print(f"{lang}: {done}/{result.total} translated")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main())
