"""Reply checks: replies asking for a secret are flagged; warnings not to share one are not."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kefu.automation.reply_checks import SecretKind, check_reply

P, C, K, S = (
    SecretKind.PASSWORD,
    SecretKind.VERIFICATION_CODE,
    SecretKind.PRIVATE_KEY,
    SecretKind.SEED_PHRASE,
)

ASKING = [
    ("Please send us your password.", P),
    ("Can you tell me your login password so I can check?", P),
    ("What is your account password?", P),
    ("We need your password to verify the account.", P),
    ("Could you provide the 6-digit code from Google Authenticator?", C),
    ("Reply with the SMS verification code you received.", C),
    ("Please share your 2FA code.", C),
    ("Send me the verification code we just sent to your phone.", C),
    ("What's your OTP?", C),
    ("Please paste the email code here.", C),
    ("We need your private key to recover the funds.", K),
    ("Kindly send us your private key.", K),
    ("Please share your keystore file with us.", K),
    ("What is your seed phrase?", S),
    ("Please share your 12-word recovery phrase so we can restore the wallet.", S),
    ("Send us your mnemonic and we will fix it.", S),
    ("Don't worry, just send me your password.", P),
    ("请提供您的登录密码", P),
    ("麻烦把您的资金密码发给我们。", P),
    ("您的密码是多少？", P),
    ("请把收到的短信验证码发给我们", C),
    ("麻烦告诉我您的谷歌验证码", C),
    ("请回复邮箱验证码以便核实身份", C),
    ("您的验证码是多少？", C),
    ("请发送您的私钥", K),
    ("请提供钱包私钥，我们帮您找回资产", K),
    ("您的助记词是什么？", S),
    ("请提供恢复短语以便找回资产", S),
    ("麻烦截图您的助记词给我", S),
    ("别担心，请告诉我您的密码。", P),
]

SAFE = [
    "We will never ask for your password.",
    "Do not share your 2FA code with anyone.",
    "Never give your private key or seed phrase to anybody, including us.",
    "Anyone who asks for your seed phrase is a scammer.",
    "We will send you a verification code.",
    "We have sent a verification code to your email; enter it on the login page.",
    "Let us know if you forgot your password.",
    "You can reset your password in Settings.",
    "Please enter the code from your authenticator app on our website.",
    "Support staff will not ask you to send your password.",
    "Your withdrawal of 100 USDT has been processed.",
    "Please provide the transaction hash and the deposit address.",
    "Beware of phishing sites asking for your 2FA code.",
    "请勿向任何人透露验证码",
    "客服绝不会索要您的私钥",
    "我们已向您发送验证码",
    "如果忘记密码，请点击找回密码",
    "请不要把助记词告诉任何人",
    "谨防冒充客服索要您的谷歌验证码的诈骗",
    "请提供您的订单号和交易哈希",
    "请在官网登录页面输入短信验证码",
    "您可以在安全设置中修改登录密码",
    "",
]


@pytest.mark.parametrize(("text", "kind"), ASKING)
def test_requests_for_secrets_are_flagged(text: str, kind: SecretKind) -> None:
    warnings = check_reply(text)
    assert [w.kind for w in warnings] == [kind], warnings
    warning = warnings[0]
    assert text[warning.start : warning.end] == warning.text
    assert warning.text


@pytest.mark.parametrize("text", SAFE)
def test_warnings_and_ordinary_replies_are_not_flagged(text: str) -> None:
    assert check_reply(text) == []


def test_each_request_in_a_long_reply_is_reported_with_its_span() -> None:
    text = "We will never ask for your password. However, please send us your seed phrase. 请提供私钥。"
    warnings = check_reply(text)
    assert [w.kind for w in warnings] == [S, K]
    assert all(text[w.start : w.end] == w.text for w in warnings)


@given(st.text(max_size=300))
def test_never_crashes_and_spans_are_in_range(text: str) -> None:
    for warning in check_reply(text):
        assert 0 <= warning.start < warning.end
