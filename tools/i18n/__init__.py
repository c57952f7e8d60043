"""Translation tooling: extract messages from the source, update the catalogs, check and compile them.

    python -m tools.i18n extract   # scan nktenv/** and update nktenv/locale/nktenv.pot and every .po
    python -m tools.i18n check     # missing translations, placeholder mismatches, dynamic msgids
    python -m tools.i18n compile   # .po -> .mo next to them (the wheel build does this by itself)
"""
