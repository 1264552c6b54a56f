"""Fixtures of the core tests."""

import io
import logging

import pytest

from storefront.core.middleware import RequestIdLogFilter


@pytest.fixture
def console_output():
    """What the project's console log handler (settings.LOGGING) writes, meanwhile."""
    handler = next(
        handler
        for handler in logging.getLogger().handlers
        if any(isinstance(f, RequestIdLogFilter) for f in handler.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)
