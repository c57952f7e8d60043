from tests.i18n.conftest import ja  # noqa: F401  (the Japanese CLI fixture)
