"""Chat socket tests serve the app over real TCP like the console socket tests."""

from tests.web.ws.conftest import live

__all__ = ["live"]
