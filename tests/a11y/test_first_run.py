"""A quiet first run: each 404 is printed once."""

import logging


def _printing_handlers(name: str) -> list[logging.Handler]:
    """Console handlers a record of logger ``name`` reaches (following propagation)."""
    found, logger = [], logging.getLogger(name)
    while logger is not None:
        found += [h for h in logger.handlers if type(h) is logging.StreamHandler]  # not pytest's
        logger = logger.parent if logger.propagate else None
    return found


def test_a_not_found_warning_is_printed_once():
    assert len(_printing_handlers("django.request")) == 1
    assert len(_printing_handlers("django.server")) <= 1
