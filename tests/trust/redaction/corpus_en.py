"""English corpus entries: realistic support messages with and without secrets (see make_corpus.py)."""

from __future__ import annotations

from tests.trust.redaction import secrets_gen as g
from tests.trust.redaction.corpus_kit import Corpus


def build() -> Corpus:
    """Every English entry, in a stable order."""
    c = Corpus("en")
    _seed_phrases(c)
    _keys(c)
    _credentials(c)
    _cards(c)
    _known_misses(c)
    _must_not_touch(c)
    _ordinary(c)
    return c


def _seed_phrases(c: Corpus) -> None:
    for n, words in enumerate((12, 12, 15, 18, 21, 24, 24, 12)):
        phrase = g.mnemonic(100 + n, words)
        c.secret(f"Hi, I think my wallet was drained. My recovery phrase is {phrase} - can you freeze it?",
                 seed_phrase=phrase)  # fmt: skip
    p = g.mnemonic(110)
    c.secret(f"seed phrase: {p.upper()}", seed_phrase=p.upper())
    p = g.mnemonic(111)
    c.secret(f"Seed Phrase:\n{p.title()}\nplease help", seed_phrase=p.title())
    w = g.mnemonic(112).split()
    numbered = " ".join(f"{i}. {w}" for i, w in enumerate(w, 1))
    c.secret(f"Here are my words\n{numbered}\nis my account safe?", seed_phrase=numbered[3:])
    w = g.mnemonic(113, 24).split()
    lines = "\n".join(f"{i}) {w}" for i, w in enumerate(w, 1))
    c.secret(f"support asked for the backup words:\n{lines}", seed_phrase=lines[3:])
    p = g.mnemonic(114)
    c.secret(f"words are {', '.join(p.split())}. thanks", seed_phrase=", ".join(p.split()))
    w = g.mnemonic(115).split()
    grid = "\n".join(" ".join(w[i : i + 3]) for i in range(0, 12, 3))
    c.secret(f"copied from the app:\n{grid}", seed_phrase=grid)
    p = g.mnemonic(116)
    c.secret(f"{p}", seed_phrase=p)
    p = g.mnemonic(117)
    c.secret(f"the wallet says invalid mnemonic?? {p}", seed_phrase=p)
    # One misspelt word: the checksum fails, the run is still a phrase.
    w = g.mnemonic(118).split()
    w[4] = w[4][:-1] + ("x" if w[4][-1] != "x" else "y")
    typo = " ".join(w)
    c.secret(f"Metamask won't import my phrase {typo} why??", seed_phrase=typo)
    w = g.mnemonic(119).split()
    w[0] = w[0][0] + w[0][2] + w[0][1] + w[0][3:]  # swapped letters
    typo = " ".join(w)
    c.secret(f"restore failed with {typo}", seed_phrase=typo)
    w = g.mnemonic(120, 24).split()
    w[10] = w[10] + "s"
    typo = " ".join(w)
    c.secret(f"My 24 words: {typo}", seed_phrase=typo)
    p = g.mnemonic(121)
    c.secret(
        f"I was told by your agent on telegram to send the phrase: {p} Was that really you?", seed_phrase=p
    )
    p = g.mnemonic(122, 18)
    c.secret(f'mnemonic = "{p}"', seed_phrase=p)


def _keys(c: Corpus) -> None:
    for n, (before, after) in enumerate(
        (
            ("My private key is 0x", " please recover my funds"),
            ("private key: ", ""),
            ("privkey=", " (from my old wallet)"),
            ("Exported the private key from MetaMask: ", " is this safe to share?"),
            ("secret: 0x", ""),
            ("Here is the PK ", " for the wallet that got hacked"),
        )
    ):
        key = g.hex32("key", n)
        c.secret(f"{before}{key}{after}", private_key=("0x" + key) if before.endswith("0x") else key)
    key = g.hex32("key", 20)
    c.secret(f"{key}\n^ that's the private key of my trust wallet", private_key=key)
    for n, (compressed, testnet) in enumerate(((True, False), (False, False), (True, True), (False, True))):
        w = g.wif(n, compressed=compressed, testnet=testnet)
        c.secret(f"Electrum shows this key {w} - can you import it for me?", wif_key=w)
    w = g.wif(9)
    c.secret(f"wif:{w}", wif_key=w)
    for n, prefix in enumerate(("xprv", "yprv", "zprv", "tprv")):
        x = g.extended(n, prefix)
        c.secret(f"My wallet master key {x} shows zero balance", extended_private_key=x)
    c.secret(
        f"account xprv\n{(x := g.extended(7))}\nand the xpub {g.extended(8, 'xpub')}", extended_private_key=x
    )
    ks = g.keystore(1)
    c.secret(f"Here is my keystore file content: {ks} and the password hint is my dog", keystore=ks)
    ks = g.keystore(2, indent=2, capital=True)
    c.secret(f"UTC--2021 file:\n{ks}\n", keystore=ks)
    ks = g.keystore(3)
    c.secret(ks, keystore=ks)


def _credentials(c: Corpus) -> None:
    for value, template in (
        ("hunter2", "my password is {}"),
        ("Binance2024!", "My password is {} and it still says wrong credentials"),
        ("S3cr3t#Pass", "password: {}"),
        ("qwerty123", "Password = {}"),
        ("Tr0ub4dor&3", "login pwd={} user=alice@example.com"),
        ("p@ssw0rd99", "The password for my account is {}. Please log in and check."),
        ("correct horse battery", 'my passphrase is "{}"'),
        ("7788Xyz!", "Fund password: {}"),
        ("letmein2023", "pw: {} (I changed it yesterday)"),
        ("Aa123456", "hmm no, my password was {} before I changed it"),
        ("852741", "Card PIN is {}"),
        ("9f8e7d6c", "the password would be {}"),
    ):
        quoted = '"' + value + '"' if '"{}"' in template else value
        c.secret(template.format(value), password=quoted)
    for value, template in (
        ("123456", "2FA code 123456"),
        ("123 456", "google authenticator code is 123 456"),
        ("882211", "GA code: 882211"),
        ("004512", "Authenticator code 004512 doesn't work"),
        ("771093", "The SMS code was 771093 but it expired"),
        ("550123", "email verification code: 550123"),
        ("3344", "verification code 3344"),
        ("918273", "2FA: 918273"),
        ("667 788", "OTP is 667 788"),
        ("12345678", "security code is 12345678"),
        ("246810", "The code is 246810, it says invalid"),
        ("135799", "two-factor authentication code: 135799"),
        ("864200", "Withdrawal code 864200 - I did not request this withdrawal!"),
    ):
        c.secret(template, verification_code=value)
    for n, template in enumerate(
        (
            "API key: vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A\nAPI secret: {}",
            "secret key: {}",
            "Here is my Binance secret key {} please check why orders fail",
            "api_secret={}",
            "client secret is {}",
        )
    ):
        secret = g.api_secret(n)
        c.secret(template.format(secret), api_secret=secret)


def _known_misses(c: Corpus) -> None:
    c.secret("my password is dragon", password="dragon", note="known miss: an everyday word after 'is'")
    c.secret("GA 482913 please hurry", verification_code="482913", note="known miss: bare 'GA' is no cue")


def _cards(c: Corpus) -> None:
    for n, (prefix, length, template) in enumerate(
        (
            ("4", 16, "I paid with my card {} and the purchase failed"),
            ("51", 16, "Mastercard {} exp 09/27 cvv on the back"),
            ("37", 15, "amex card number {}"),
            ("62", 19, "my debit card {} was charged twice"),
            ("6011", 16, "Discover card: {}"),
            ("35", 16, "credit card {} please refund"),
        )
    ):
        number = g.card(n, prefix if prefix != "35" else "3530", length)
        c.secret(template.format(number), card_number=number)
    number = g.grouped(g.card(10))
    c.secret(f"charged on {number} yesterday", card_number=number)
    number = g.grouped(g.card(11), "-")
    c.secret(f"Card: {number}", card_number=number)
    number = g.card(12, "4")
    c.secret(f"{number} is the card I used", card_number=number)


def _must_not_touch(c: Corpus) -> None:
    for n in range(6):
        tx = g.hex32("tx", n)
        c.keep(f"Deposit not credited, tx hash 0x{tx}", f"0x{tx}")
        c.keep(f"My withdrawal is pending. TXID: {tx} Amount 0.5 BTC", tx)
    c.keep(f"{g.hex32('tx', 10)}", g.hex32("tx", 10))
    c.keep(f"I never shared my private key, but this tx drained me: {g.hex32('tx', 11)}", g.hex32("tx", 11))
    c.keep(f"Check etherscan: https://etherscan.io/tx/0x{g.hex32('tx', 12)}", g.hex32("tx", 12))
    c.keep(f"block hash {g.hex32('tx', 13)} height 812345", g.hex32("tx", 13))
    c.keep(
        f"is my private key safe? I sent 2 ETH in 0x{g.hex32('tx', 14)} and it never arrived",
        g.hex32("tx", 14),
    )
    for n in range(3):
        c.keep(f"Send to {g.btc_address(n)} please, the address on my profile", g.btc_address(n))
        c.keep(f"P2SH address {g.btc_address(n, 5)} received nothing", g.btc_address(n, 5))
        c.keep(f"USDT TRC20 to {g.tron_address(n)} is missing", g.tron_address(n))
        c.keep(f"SOL deposit address {g.sol_address(n)}", g.sol_address(n))
        c.keep(f"ETH address {g.eth_address(n)} shows 0 balance", g.eth_address(n))
        c.keep(f"solana signature {g.sol_signature(n)}", g.sol_signature(n))
    for address in g.BECH32:
        c.keep(f"withdraw to {address} failed", address)
    c.keep(f"Here is my xpub {g.extended(20, 'xpub')} for the watch-only wallet", g.extended(20, "xpub"))
    c.keep(f"zpub {g.extended(21, 'zpub')}", g.extended(21, "zpub"))
    for n in range(4):
        order = g.card(30 + n, "4", 19)  # Luhn-valid on purpose: the label says it is an order
        c.keep(f"Order ID {order} was cancelled without reason", order)
        c.keep(f"order no. {g.digits(n, 19)} still processing", g.digits(n, 19))
    c.keep(f"UID {g.card(40, '5', 16)}", g.card(40, "5", 16))
    c.keep(f"my user id is {g.digits(41, 9)} and my order is {g.card(42, '62', 18)}", g.card(42, "62", 18))
    c.keep(f"tx {g.card(43, '4', 16)} on the internal transfer", g.card(43, "4", 16))
    c.keep("Reference KF-48213907 - any update?", "KF-48213907")
    c.keep("Timestamp 1700000000000 in the API response", "1700000000000")
    c.keep("Call me on +86 138 0013 8000 or +1 (415) 555-0132", "+86 138 0013 8000")
    c.keep("My email is alice.wong+kefu@example.com", "alice.wong+kefu@example.com")
    c.keep("Withdrew 1,234,567.89 USDT at 2024-03-05 14:22:10 UTC", "1,234,567.89")
    c.keep("Trade 1234567890123456789 at price 64,123.50", "1234567890123456789")
    c.keep("API key: vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A (the public one)",
           "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A")  # fmt: skip
    c.keep("error code 100013 when placing an order", "100013")
    c.keep("promo code 202405 didn't apply", "202405")
    c.keep("I didn't receive the verification code for order 556677, please resend", "556677")


_ORDINARY = """\
I forgot my password
How do I reset my password?
My password is wrong apparently, but I am sure it is correct.
my password is not working since yesterday
The password is incorrect, it keeps saying that
Password reset email never arrived, can you send it again?
I changed my password and now I can't log in to the app
Is my password case sensitive?
What are the password requirements? It says it must be 8 to 20 characters.
The 2FA code is not accepted, I think my phone clock is off
I lost my phone with Google Authenticator, how do I reset 2FA?
The verification code never arrives by SMS
I never received the email verification code, please help
Can you explain what a seed phrase is? I don't want to lose my coins.
Never share your seed phrase or private key with anyone, including support.
Where can I find my API secret key? The page only shows the API key.
I deleted my API key by mistake, can I restore the secret?
Please check again because my order about the deposit account never arrived and I have been waiting all day.
Hello team, I made a deposit to my account two days ago but it is still not showing. Could you please check?
Hi, my withdrawal of 500 USDT has been pending for six hours, what is going on?
Why was my account frozen? I did nothing wrong, I only traded spot.
I want to close my account and withdraw everything, what do I need to do?
The price moved so fast that my stop loss order did not trigger, this is unacceptable.
Your app keeps crashing on Android 14 when I open the futures tab.
Can I change the email address on my account? I no longer have access to the old one.
How long does KYC verification usually take? I uploaded my passport on Monday.
I sent BTC to the wrong network, is there any way to recover it?
The fee for this withdrawal seems too high, can you explain how it is calculated?
Please cancel my open orders, I cannot access the website right now.
I received a strange email asking me to verify my wallet, is it from you?
Thanks for the quick help, everything works again!
Please help me again because the order about my deposit was lost and my account balance is wrong today.
Okay thank you so much, I will wait for the team to check and come back to me tomorrow morning.
My friend told me about your exchange, what are the fees for spot trading and is there a discount?
Good morning, I would like to know whether you support staking for ETH and what the lock period is.
Can you increase my daily withdrawal limit? I am a verified user and need to move funds for business.
The chart is not loading and the order book shows old prices, is there an outage right now?
I think someone logged in to my account from another country, please lock it immediately.
Please explain the liquidation on my futures position, the mark price never reached my liquidation price.
Where is my referral bonus? My friend signed up with my link and traded more than 100 USDT.
Your support bot keeps asking the same question, I want to talk to a human agent please.
Can you confirm this is the official Telegram group? Somebody there asked for my private key.
Do you have a phone number I can call? This is urgent, my funds are missing.
Hello, I cannot find the option to enable withdrawal whitelist in the security settings.
I submitted a ticket three days ago and still no response, ticket number KF-55218830.
The copy trading feature stopped following the lead trader after the update yesterday.
can you check again because my account about deposit never arrived today sorry
hello team please check again because order about deposit account never arrived today sorry
Menu: Deposit, Withdraw, Transfer, Trade, Convert, Stake, Earn, Swap, Buy, Sell, Futures, Options, Margin
I tried: Buy Crypto > Card > Amount > Confirm > Verify > Pay > Wait > Done > Error > Retry > Cancel > Again
Steps - open app, tap wallet, select coin, choose network, copy address, paste here, enter amount, confirm
My password is 12 characters long and has symbols, so it should be strong enough.
Password: the one I always use, nothing changed
Your password is stored securely? I hope so.
The password is required every time, can I disable that?
I reset my password: still no luck logging in
OTP: never received, tried five times
The code you sent has expired, please send a new one
It's no secret that your fees are high, and the support is slow.
Two-factor authentication is enabled but the app still asks for SMS
The secret key field is empty after I created the API key, is that normal?
Is it safe to paste my private key here? I'd rather not.
Card payment failed three times today, is there a problem with Visa?
My bank says the card was charged 3 times for 250 EUR each
Order 1002 and order 1003 both show "pending" for 2 days
Price alert at 64,250.00 did not fire; the candle closed at 64,300 at 14:00 UTC
"""


def _ordinary(c: Corpus) -> None:
    for line in _ORDINARY.splitlines():
        c.keep(line)
    # Long paragraphs made of words that are in the BIP-39 list.
    c.keep(
        "I have an account with you for about a year and I always deposit again and again because the fees "
        "are fine, but this month every order I place is delayed and the balance shows a wrong amount, so "
        "please review the history, check the ledger entries and tell me what happened to the missing coins."
    )
    c.keep(
        "Hi team, quick question about the deposit address: can I use the same address again for a second "
        "transfer, or will the funds be lost? Also, is there a minimum amount? Thank you and have a nice day."
    )
