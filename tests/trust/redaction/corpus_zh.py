"""Chinese (and mixed zh/en) corpus entries: support messages with and without secrets."""

from __future__ import annotations

from tests.trust.redaction import secrets_gen as g
from tests.trust.redaction.corpus_kit import Corpus


def build() -> Corpus:
    """Every Chinese entry, in a stable order."""
    c = Corpus("zh")
    _seed_phrases(c)
    _keys(c)
    _credentials(c)
    _cards(c)
    _known_misses(c)
    _must_not_touch(c)
    _ordinary(c)
    return c


def _seed_phrases(c: Corpus) -> None:
    zh, tw = "chinese_simplified", "chinese_traditional"
    for n, words in enumerate((12, 12, 15, 18, 24)):
        phrase = g.mnemonic(200 + n, words, zh)
        c.secret(f"你好，我的钱包被盗了，助记词是 {phrase} 请帮我冻结", seed_phrase=phrase)
    p = g.mnemonic(210, 12, zh).replace(" ", "")
    c.secret(f"我的助记词是{p}", seed_phrase=p)
    p = g.mnemonic(211, 12, zh).replace(" ", "")
    c.secret(f"助记词：{p}，帮我看看还能不能找回", seed_phrase=p)
    p = g.mnemonic(212, 24, zh).replace(" ", "")
    c.secret(f"{p}", seed_phrase=p)
    p = g.mnemonic(213, 12, zh).replace(" ", "，")
    c.secret(f"客服让我发助记词：{p}", seed_phrase=p)
    w = g.mnemonic(214, 12, zh).split()
    numbered = " ".join(f"{i}.{w}" for i, w in enumerate(w, 1))
    c.secret(f"备份的词是\n{numbered}\n是不是这样", seed_phrase=numbered[2:])
    w = g.mnemonic(215, 12, zh).split()
    grid = "\n".join(" ".join(w[i : i + 4]) for i in range(0, 12, 4))
    c.secret(f"截图看不清，我手打一下：\n{grid}", seed_phrase=grid)
    p = g.mnemonic(216, 12, tw)
    c.secret(f"我的助記詞是 {p} 請幫忙", seed_phrase=p)
    p = g.mnemonic(217, 18, tw).replace(" ", "")
    c.secret(f"助記詞：{p}", seed_phrase=p)
    w = g.mnemonic(218, 12, zh).split()
    w[5] = "曌"  # a character outside the lists: a typo, the spaced run is still a phrase
    typo = " ".join(w)
    c.secret(f"导入提示助记词错误 {typo} 怎么办", seed_phrase=typo)
    w = g.mnemonic(219, 12, zh).split()
    w[3], w[4] = w[4], w[3]  # two words swapped: checksum fails, still a phrase
    swapped = " ".join(w)
    c.secret(f"钱包助记词 {swapped} 导入失败", seed_phrase=swapped)
    for n in range(4):
        p = g.mnemonic(230 + n, 12)
        c.secret(f"你好，这是我的助记词 {p} 麻烦帮我查一下资产", seed_phrase=p)
    p = g.mnemonic(240, 24)
    c.secret(f"英文助记词：{p}，谢谢", seed_phrase=p)
    w = g.mnemonic(241).split()
    numbered = "\n".join(f"{i}、{w}" for i, w in enumerate(w, 1))
    c.secret(f"助记词如下\n{numbered}", seed_phrase=numbered[2:])


def _keys(c: Corpus) -> None:
    for n, (before, after) in enumerate(
        (
            ("我的私钥是 0x", " 请帮我找回资产"),
            ("私钥：", ""),
            ("私鑰 ", " 幫我看看"),
            ("这是我导出的私钥0x", "，安全吗"),
            ("钱包密钥：", ""),
            ("private key：", " 麻烦了"),
        )
    ):
        key = g.hex32("zhkey", n)
        c.secret(f"{before}{key}{after}", private_key=("0x" + key) if before.endswith("0x") else key)
    for n, (compressed, testnet) in enumerate(((True, False), (False, False), (True, True))):
        w = g.wif(20 + n, compressed=compressed, testnet=testnet)
        c.secret(f"老钱包的私钥 {w} 能导入吗", wif_key=w)
    w = g.wif(30)
    c.secret(f"{w}", wif_key=w)
    for n, prefix in enumerate(("xprv", "zprv", "tprv")):
        x = g.extended(30 + n, prefix)
        c.secret(f"扩展私钥 {x} 余额显示为零", extended_private_key=x)
    ks = g.keystore(10)
    c.secret(f"keystore 文件内容：{ks} 密码提示是我的生日", keystore=ks)
    ks = g.keystore(11, indent=4)
    c.secret(f"这是我的 keystore：\n{ks}\n请帮忙解锁", keystore=ks)


def _credentials(c: Corpus) -> None:
    for value, template in (
        ("abc12345", "密码是{}，帮我看看为什么登录不了"),
        ("Abc@1234", "密码：{}"),
        ("qwer1234", "登录密码 {} 一直提示错误"),
        ("Xy998877", "我的登录密码是{}"),
        ("123456", "资金密码：{}"),
        ("887766", "交易密码是 {}"),
        ("Pass_2024", "密碼：{}"),
        ("zhang1990", "账号 alice@example.com 密码 {}"),
        ("Qq135790", "my password is {} 帮忙查一下"),
        ("A1b2c3d4", "支付密码为{}，麻烦重置"),
    ):
        c.secret(template.format(value), password=value)
    for value, template in (
        ("123456", "验证码 123456"),
        ("654321", "验证码是：654321"),
        ("778899", "谷歌验证码778899无效"),
        ("202311", "短信验证码 202311 已经过期了吗"),
        ("１２３４５６", "验证码１２３４５６"),
        ("445566", "邮箱验证码：445566，收到了"),
        ("3321", "手机验证码是3321"),
        ("990011", "谷歌验证器 990011 一直不对"),
        ("556 677", "动态码 556 677"),
        ("808080", "2FA code 808080 提示错误"),
        ("112233", "google验证码 112233"),
        ("135246", "驗證碼：135246"),
    ):
        c.secret(template, verification_code=value)
    for n, template in enumerate(
        (
            "API 密钥：{}",
            "API密钥是 {} 请帮我删除",
            "Secret Key: {} 下单一直失败",
            "api secret {}",
            "我的 API 私钥 {} 泄露了怎么办",
            "密钥：{}",
        )
    ):
        secret = g.api_secret(50 + n, 32 + n * 4)
        c.secret(template.format(secret), api_secret=secret)


def _known_misses(c: Corpus) -> None:
    p = g.mnemonic(250, 12, "chinese_simplified").replace(" ", "")
    c.secret(f"{p}谢谢", seed_phrase=p, note="known miss: contiguous, glued to other words, no cue")
    c.secret("密码是 dragon", password="dragon", note="known miss: an everyday English word")


def _cards(c: Corpus) -> None:
    for n, (prefix, length, template) in enumerate(
        (
            ("62", 19, "我的银行卡号 {} 扣款两次"),
            ("62", 16, "信用卡 {} 付款失败"),
            ("4", 16, "用 visa 卡 {} 买币没到账"),
            ("51", 16, "卡号：{}"),
            ("62", 18, "借记卡{}被冻结了"),
        )
    ):
        number = g.card(60 + n, prefix, length)
        c.secret(template.format(number), card_number=number)
    number = g.grouped(g.card(70, "62", 16))
    c.secret(f"储蓄卡 {number} 退款到这张卡", card_number=number)


def _must_not_touch(c: Corpus) -> None:
    for n in range(5):
        tx = g.hex32("zhtx", n)
        c.keep(f"充值没到账，交易哈希 0x{tx}", f"0x{tx}")
        c.keep(f"提现一直在处理中，TXID：{tx}，金额 500 USDT", tx)
    c.keep(f"我没有泄露私钥，但是这笔交易把币转走了：{g.hex32('zhtx', 10)}", g.hex32("zhtx", 10))
    c.keep(f"{g.hex32('zhtx', 11)}", g.hex32("zhtx", 11))
    c.keep(f"区块浏览器显示 hash {g.hex32('zhtx', 12)} 已确认", g.hex32("zhtx", 12))
    for n in range(3):
        c.keep(f"充值地址 {g.btc_address(10 + n)} 没收到", g.btc_address(10 + n))
        c.keep(f"提币到 {g.tron_address(10 + n)}（TRC20）失败", g.tron_address(10 + n))
        c.keep(f"SOL 地址：{g.sol_address(10 + n)}", g.sol_address(10 + n))
        c.keep(f"以太坊地址 {g.eth_address(10 + n)} 余额为零", g.eth_address(10 + n))
    c.keep(f"比特币地址 {g.BECH32[0]} 对吗", g.BECH32[0])
    c.keep(f"观察钱包用的 xpub：{g.extended(40, 'xpub')}", g.extended(40, "xpub"))
    for n in range(4):
        order = g.card(80 + n, "62", 19)  # Luhn-valid and UnionPay-shaped: the label says it is an order
        c.keep(f"订单号 {order} 一直没有成交", order)
        c.keep(f"订单 {g.digits(80 + n, 18)} 被取消了", g.digits(80 + n, 18))
    c.keep(f"我的UID：{g.card(90, '4', 16)}", g.card(90, "4", 16))
    c.keep(f"交易编号 {g.card(91, '5', 16)}", g.card(91, "5", 16))
    c.keep(f"身份证号 {g.card(92, '62', 18)} 认证失败", g.card(92, "62", 18))
    c.keep("工单号 KF-20240518，请跟进", "KF-20240518")
    c.keep("手机号 13800138000，收不到短信", "13800138000")
    c.keep("邮箱 zhang.wei@example.cn 收不到邮件", "zhang.wei@example.cn")
    c.keep("2024-05-18 14:30:00 提现 12,345.67 USDT", "12,345.67")
    c.keep("时间戳 1716000000000 对应的订单", "1716000000000")
    c.keep("验证码发到 138****8000 了但是没收到", "138****8000")
    c.keep("API Key：vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A 是公开的那个",
           "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A")  # fmt: skip
    c.keep("错误码 100013，下单失败", "100013")
    c.keep("没有收到验证码，订单号 556677889900", "556677889900")


_ORDINARY = """\
忘记密码了
密码错误
登录密码错误怎么办
我想修改密码，但是收不到验证码
密码是对的，但是一直登录不了
密码重置后 24 小时不能提现吗
密码要求是 8-20 位吗
验证码收不到
验证码一直提示错误
短信验证码五分钟内有效吗
谷歌验证器丢了怎么重置
私钥丢了怎么办，还能找回吗
助记词忘记了，钱包里还有币
请问助记词和私钥有什么区别
千万不要把助记词告诉任何人，包括客服
API 密钥在哪里查看？页面上只有 API Key
你好，我昨天充值的 USDT 到现在还没有到账，麻烦帮我查一下
提现一直显示审核中，已经超过六个小时了
为什么我的账户被冻结了？我什么都没做
我想注销账户，需要准备什么材料
合约爆仓了，但是标记价格根本没有到强平价
身份认证已经提交三天了，什么时候能通过
转错网络了，币还能找回来吗
手续费怎么这么高，能解释一下计算方式吗
APP 在安卓手机上一打开合约页面就闪退
我收到一封邮件说要验证钱包，是你们发的吗
谢谢客服，问题已经解决了
您好，我在现货交易时下的限价单一直没有成交，请问是什么原因
我的邀请奖励一直没有发放，朋友已经注册并且交易了
请问你们支持哪些法币充值方式，银行卡可以吗
账户显示有人在其他国家登录，请马上帮我锁定账户
客服机器人一直问同样的问题，我要找人工客服
这是官方电报群吗？里面有人问我要助记词
跟单交易更新以后就不跟单了
我是认证用户，可以提高每日提现额度吗
请帮我取消所有挂单，我现在登录不了网站
行情波动太快止损单没有触发，这不合理
请问质押以太坊的锁定期是多长时间
我提交的工单三天了还没有回复，工单号 KF-55218830
你们的APP什么时候支持中文繁体
我在中国大陆可以使用你们的服务吗
我的资金密码忘记了，怎么找回
请问新用户第一次充值有什么优惠活动吗现在还有没有
我已经按照要求上传了身份证正反面和手持照片为什么还是审核不通过
今天下午三点左右我在你们平台买了一些比特币但是到现在还没有显示在我的账户里面
麻烦你们尽快处理一下这个问题因为我这边急着用这笔钱来还款谢谢
这个问题已经困扰我很久了希望你们能够认真对待不要再敷衍我了
我的朋友说你们的平台安全性很高所以我才把所有的资产都放在这里
请问为什么我的提现申请被拒绝了理由是什么我需要补充哪些资料
你好 我想问一下 充值 USDT 用哪个网络 手续费最低
好的，谢谢，我等一下，再看看
充值，提现，交易，都不能用了，怎么回事
密码：不记得了
我的密码是什么来着，忘了
我的账户被冻结了怎么办
你好我的提现一直没有到账
请问为什么我的订单被取消了
客服你好请帮我看看这个问题
我昨天充值了一千个泰达币到现在还没有到
帳戶被凍結了請問要怎麼解除
您好，請問提現為什麼一直在審核中
私钥和助记词我都没有告诉过别人，为什么币没了
我的钱包助记词丢了，还能找回吗，钱包里有很多币
API 密钥泄露了怎么办，需要重新创建吗
验证码 5 分钟内有效吗
短信验证码一直收不到，已经试了 3 次
谷歌验证器换手机了怎么迁移
卡号填错了，提现到别人的卡上了怎么办
银行卡扣款成功但是没有到账，金额 1000 元
合约账户 UID 123456789 请帮我查一下
提现地址填错了，能撤回吗？时间是 2024-05-18 14:30
这个月的交易量是 1,234,567.89 USDT，可以升级 VIP 吗
""".splitlines()


def _ordinary(c: Corpus) -> None:
    for line in _ORDINARY:
        c.keep(line)
    c.keep(
        "您好，我是你们平台的老用户了，从二零一九年开始就在这里交易。最近一个月我发现每次提现都要等很久，"
        "而且客服回复也很慢。我希望你们能够改进一下服务质量，不然我只能考虑把资产转到其他平台了。谢谢！"
    )
    c.keep(
        "Hi 客服，我的 withdrawal 一直 pending，已经三个小时了，order id 在截图里，麻烦 check 一下，"
        "我这边 account 没有任何异常操作，password 也没有改过。"
    )
    c.keep("Hello，我想问一下 KYC 审核需要多久？my passport 已经上传了")
