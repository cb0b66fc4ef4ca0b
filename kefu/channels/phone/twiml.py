"""Building TwiML (Twilio's voice-response XML) with ElementTree, so every text and URL is escaped.

Only the verbs the phone menu uses: Say, Gather (DTMF), Record, Redirect, Hangup.
https://www.twilio.com/docs/voice/twiml
"""

from __future__ import annotations

from typing import Final
from xml.etree.ElementTree import Element, SubElement, tostring

CONTENT_TYPE: Final = "text/xml; charset=utf-8"
# Twilio's <Say> language codes for our locales.
SAY_LANGUAGE: Final = {"en": "en-US", "zh-CN": "zh-CN"}
# A voice that speaks both languages (Twilio maps it to an Amazon Polly voice per language).
DEFAULT_VOICE: Final = "alice"


def _clean(text: str) -> str:
    # XML 1.0 cannot carry most control characters at all, escaped or not.
    return "".join(ch for ch in text if ch in "\t\n" or ord(ch) >= 0x20)


class TwiML:
    """One `<Response>` document, built verb by verb."""

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self.root = Element("Response")
        self.voice = voice

    def say(self, text: str, locale: str, parent: Element | None = None) -> None:
        """Speak `text` in `locale` ("en" or "zh-CN")."""
        element = SubElement(
            self.root if parent is None else parent,
            "Say",
            {"language": SAY_LANGUAGE.get(locale, "en-US"), "voice": self.voice},
        )
        element.text = _clean(text)

    def gather(self, action: str, *, num_digits: int = 1, timeout: int = 6) -> Element:
        """A DTMF menu posting the pressed key to `action`; put the prompts inside it."""
        return SubElement(
            self.root,
            "Gather",
            {
                "input": "dtmf",
                "numDigits": str(num_digits),
                "timeout": str(timeout),
                "action": action,
                "method": "POST",
            },
        )

    def record(self, action: str, *, max_length: int, transcribe_callback: str | None = None) -> None:
        """Record a message (ended by # or silence), then post its reference to `action`."""
        attributes = {
            "action": action,
            "method": "POST",
            "maxLength": str(max_length),
            "finishOnKey": "#",
            "playBeep": "true",
        }
        if transcribe_callback is not None:
            attributes |= {"transcribe": "true", "transcribeCallback": transcribe_callback}
        SubElement(self.root, "Record", attributes)

    def redirect(self, url: str) -> None:
        """Continue the call with the TwiML at `url`."""
        SubElement(self.root, "Redirect", {"method": "POST"}).text = _clean(url)

    def hangup(self) -> None:
        """End the call."""
        SubElement(self.root, "Hangup")

    def to_bytes(self) -> bytes:
        """The document, UTF-8 with its XML declaration."""
        body: bytes = tostring(self.root, encoding="utf-8", xml_declaration=False)
        return b'<?xml version="1.0" encoding="UTF-8"?>' + body
