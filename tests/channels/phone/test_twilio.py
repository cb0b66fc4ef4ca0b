"""The signature as Twilio documents it, and TwiML that escapes whatever it is given."""

from __future__ import annotations

from xml.etree import ElementTree

from kefu.channels.phone.twilio import check_signature, compute_signature, public_url
from kefu.channels.phone.twiml import TwiML

# Twilio's worked example (security docs and its helper libraries' tests).
URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
PARAMS = [
    ("CallSid", "CA1234567890ABCDE"),
    ("Caller", "+14158675309"),
    ("Digits", "1234"),
    ("From", "+14158675309"),
    ("To", "+18005551212"),
]
SIGNATURE = "RSOYDt4T1cUTdK1PDd93/VVr8B8="


def test_twilios_documented_vector() -> None:
    assert compute_signature("12345", URL, PARAMS) == SIGNATURE
    assert compute_signature("12345", URL, list(reversed(PARAMS))) == SIGNATURE  # order does not matter
    assert check_signature("12345", URL, PARAMS, SIGNATURE)


def test_repeated_parameters_sort_by_value_and_collapse() -> None:
    repeated = [
        ("Sid", "CA123"),
        ("SidAccount", "AC123"),
        ("Digits", "5678"),
        ("Digits", "1234"),
        ("Digits", "1234"),
    ]
    assert compute_signature("12345", URL, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="


def test_anything_changed_fails() -> None:
    assert not check_signature("12345", URL, PARAMS, None)
    assert not check_signature("12345", URL, PARAMS, "")
    assert not check_signature("", URL, PARAMS, SIGNATURE)
    assert not check_signature("54321", URL, PARAMS, SIGNATURE)
    assert not check_signature("12345", URL + "&x=1", PARAMS, SIGNATURE)
    assert not check_signature("12345", URL.replace("https", "http"), PARAMS, SIGNATURE)
    assert not check_signature("12345", URL, [*PARAMS[:2], ("Digits", "9999"), *PARAMS[3:]], SIGNATURE)
    assert not check_signature("12345", URL, [*PARAMS, ("Extra", "")], SIGNATURE)
    assert not check_signature("12345", URL, PARAMS, "签名 not base64")


def test_public_url_uses_the_base_url_not_the_request_host() -> None:
    assert public_url("https://help.example.com/", "/channels/phone/x/voice") == (
        "https://help.example.com/channels/phone/x/voice"
    )
    assert (
        public_url("https://help.example.com", "/p", "step=topic&lang=en")
        == "https://help.example.com/p?step=topic&lang=en"
    )


def test_twiml_escapes_text_and_urls() -> None:
    doc = TwiML()
    gather = doc.gather("https://kefu.test/g?step=topic&lang=en")
    doc.say('</Say><Hangup/><Play>http://evil</Play> & "quotes" \x00\x07', "en", gather)
    doc.say("普通话请按2", "zh-CN", gather)
    doc.record("https://kefu.test/r?a=1&b=2", max_length=120)
    doc.hangup()
    raw = doc.to_bytes()
    assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response>')
    root = ElementTree.fromstring(raw)  # noqa: S314 - our own output, under test
    assert [child.tag for child in root] == ["Gather", "Record", "Hangup"]
    says = list(root.iter("Say"))
    assert says[0].text == '</Say><Hangup/><Play>http://evil</Play> & "quotes" '
    assert (says[0].get("language"), says[1].get("language")) == ("en-US", "zh-CN")
    assert says[1].text == "普通话请按2"
    assert root.find("Play") is None
    gather_element = root.find("Gather")
    assert gather_element is not None
    assert gather_element.get("action") == "https://kefu.test/g?step=topic&lang=en"
    record = root.find("Record")
    assert record is not None
    assert (record.get("maxLength"), record.get("finishOnKey")) == ("120", "#")
