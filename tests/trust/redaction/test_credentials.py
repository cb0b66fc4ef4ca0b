"""Passwords, one-time codes and API secrets stated in words: only the value goes, statements stay."""

from __future__ import annotations

import pytest

from kefu.trust.redaction import Redactor, SecretKind, placeholder, redact

PASSWORD = placeholder(SecretKind.PASSWORD)
CODE = placeholder(SecretKind.VERIFICATION_CODE)
API = placeholder(SecretKind.API_SECRET)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my password is hunter2", f"my password is {PASSWORD}"),
        ("My password is hunter2.", f"My password is {PASSWORD}."),
        ("password: S3cr3t#Pass", f"password: {PASSWORD}"),
        ("Password=qwerty123", f"Password={PASSWORD}"),
        ("login pwd=Tr0ub4dor&3 user=alice", f"login pwd={PASSWORD} user=alice"),
        ("pw: letmein2023 (changed it)", f"pw: {PASSWORD} (changed it)"),
        ("The password for my account is p@ssw0rd99.", f"The password for my account is {PASSWORD}."),
        ('my passphrase is "correct horse battery"', f"my passphrase is {PASSWORD}"),
        ("Fund password: 7788Xyz!", f"Fund password: {PASSWORD}"),
        ("the password would be 9f8e7d6c", f"the password would be {PASSWORD}"),
        ("Password:\nhunter22", f"Password:\n{PASSWORD}"),
        ("Card PIN is 8527", f"Card PIN is {PASSWORD}"),
        ("我的password是abc12345", "我的password是abc12345"),  # an English cue needs an English connector
        ("密码是abc12345，帮我看看", f"密码是{PASSWORD}，帮我看看"),
        ("密码：Abc@1234", f"密码：{PASSWORD}"),
        ("登录密码 qwer1234 一直提示错误", f"登录密码 {PASSWORD} 一直提示错误"),
        ("资金密码:123456", f"资金密码:{PASSWORD}"),
        ("交易密码为 887766", f"交易密码为 {PASSWORD}"),
        ("密碼：Pass_2024", f"密碼：{PASSWORD}"),
        ("密码是“Abc 123”", f"密码是{PASSWORD}"),  # quotes hold a value with a space
    ],
)
def test_passwords(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "I forgot my password",
        "how do I reset my password?",
        "My password is wrong apparently, but I am sure it is correct.",
        "my password is not working since yesterday",
        "The password is incorrect, it keeps saying that",
        "my password is definitely right",
        "Password reset email never arrived",
        "Is my password case sensitive?",
        "My password is 12 characters long",
        "Password: the one I always use",
        "Reset password: https://example.com/reset?token=abc123",
        "password for alice@example.com is required",
        "The pin is wrong",
        "PIN: four digits",
        "spinning: 1234",
        "忘记密码了",
        "密码错误",
        "登录密码错误怎么办",
        "密码是对的，但是一直登录不了",
        "密码要求是 8-20 位吗",
        "密码：不记得了",
        "修改密码 2 次都失败",
        "my password is [redacted: password]",
    ],
)
def test_statements_about_passwords_are_untouched(text: str) -> None:
    assert not redact(text).changed, redact(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2FA code 123456", f"2FA code {CODE}"),
        ("google authenticator code is 123 456", f"google authenticator code is {CODE}"),
        ("GA code: 882211", f"GA code: {CODE}"),
        ("The SMS code was 771093 but it expired", f"The SMS code was {CODE} but it expired"),
        ("email verification code: 550123", f"email verification code: {CODE}"),
        ("two-factor authentication code: 135799", f"two-factor authentication code: {CODE}"),
        ("OTP is 667-788", f"OTP is {CODE}"),
        ("The code is 246810", f"The code is {CODE}"),
        ("验证码 123456", f"验证码 {CODE}"),
        ("验证码是：123456", f"验证码是：{CODE}"),
        ("谷歌验证码654321", f"谷歌验证码{CODE}"),
        ("短信验证码 882211 已收到", f"短信验证码 {CODE} 已收到"),
        ("验证码１２３４５６", f"验证码{CODE}"),
        ("谷歌验证器 990011 一直不对", f"谷歌验证器 {CODE} 一直不对"),
        ("google验证 112233", f"google验证 {CODE}"),
        ("驗證碼：135246", f"驗證碼：{CODE}"),
    ],
)
def test_codes(text: str, expected: str) -> None:
    assert redact(text).text == expected


@pytest.mark.parametrize(
    "text",
    [
        "The 2FA code is not accepted",
        "error code 100013 when placing an order",
        "promo code 202405 didn't apply",
        "I didn't receive the verification code for order 556677",
        "verification code expired at 2024-05-18",
        "2FA code 12.5 USDT fee",
        "验证码收不到",
        "验证码 5 分钟内有效吗",
        "没有收到验证码，订单号 556677889900",
        "身份验证 123456 次",  # "验证" alone is the authenticator app only after 谷歌/google
        "Your code: KF-123456",
    ],
)
def test_other_numbers_near_code_words_are_untouched(text: str) -> None:
    assert not redact(text).changed, redact(text)


SECRET = "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY"


@pytest.mark.parametrize(
    "text",
    [
        f"api secret: {SECRET}",
        f"API_SECRET={SECRET}",
        f"Secret Key: {SECRET} 下单一直失败",
        f"client secret is {SECRET}",
        f"API 密钥：{SECRET}",
        f"API密钥是 {SECRET} 请帮我删除",
        f"密钥：{SECRET}",
        f"secret {SECRET}",
    ],
)
def test_api_secrets_in_context(text: str) -> None:
    assert redact(text).text == text.replace(SECRET, API)


@pytest.mark.parametrize(
    "text",
    [
        f"API key: {SECRET}",  # the public half
        "Where can I find my API secret key? The page only shows the API key.",
        "secret: abcdefghijklmnopqrstuvwxyz",  # no digit: a word, not a token
        "secret: 12345",
    ],
)
def test_api_text_without_a_secret_is_untouched(text: str) -> None:
    assert not redact(text).changed


def test_operator_patterns() -> None:
    redactor = Redactor([r"\bbx_[A-Za-z0-9]{32}\b", r"okx=(?P<secret>[0-9a-f]{32})", r"kraken:(\w{40})"])
    token = "bx_" + "a1" * 16
    text = f"keys {token} okx={'0f' * 16} kraken:{'Z9' * 20} end"
    result = redactor.redact(text)
    assert result.text == f"keys {API} okx={API} kraken:{API} end"
    assert all(f.kind is SecretKind.API_SECRET and f.certain for f in result.findings)
    assert not redact(text).changed  # the default redactor has no operator patterns


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("(unclosed", "api_secret_patterns[1] is not a valid regular expression"),
        ("x*", "matches the empty string"),
    ],
)
def test_bad_operator_patterns_are_refused(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Redactor([r"ok_\d+", pattern] if "[1]" in message else [pattern])


def test_one_string_is_not_a_list_of_patterns() -> None:
    with pytest.raises(TypeError, match="not one string"):
        Redactor(r"bx_\w{32}")
