"""Chat socket tests serve the app over real TCP like the console socket tests, with the exchange's
origin allowed, a chat identity secret, and (unless a module says otherwise) no bot."""

import pytest
from pydantic import SecretStr

from kefu.settings import Settings
from tests.web.ws.conftest import live

__all__ = ["live"]

EXCHANGE = "https://www.example.com"
IDENTITY_SECRET = "chat-identity-secret-for-tests-0123456789"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Without the bot: these tests count seqs of the customer's and agents' messages only.
    return settings.model_copy(
        update={
            "chat_origins": EXCHANGE,
            "chat_identity_secret": SecretStr(IDENTITY_SECRET),
            "chat_bot": False,
        }
    )
