"""Text normalisation for search: folding, Chinese segmentation, English stemming.

Documents and queries go through the same functions, so whatever the database stores as terms is
exactly what a query is compared with. Every function here is pure (jieba's dictionary is loaded
once, lazily, on first use).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Final

import jieba  # type: ignore[import-untyped]
import opencc
import snowballstemmer  # type: ignore[import-untyped]

# Product words jieba would otherwise cut in two (lower-case: text is folded before segmenting).
DOMAIN_WORDS: Final = (
    "usdt", "trc20", "erc20", "bep20", "kyc", "api", "2fa", "otp", "p2p", "memo",
    "谷歌验证器", "身份验证器", "验证器", "提币", "充币", "提现", "充值", "到账", "未到账", "资金密码",
    "防钓鱼码", "白名单", "强平", "爆仓", "资金费率", "永续合约", "杠杆", "逐仓", "全仓", "止盈", "止损",
    "手续费", "人工客服", "在线客服", "工单", "实名认证", "身份认证", "人脸识别", "链上", "主网",
    "标签", "地址簿", "法币", "理财", "质押", "赎回", "闪兑", "限价单", "市价单", "撤单", "冻结",
    "解锁", "锁定", "注销", "验证码", "登录", "子账户", "返佣", "邀请码", "客服",
)  # fmt: skip


def _wordlist(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Function words and question words: they say nothing about the topic yet appear in titles
# ("…怎么办", "How do I …") and would otherwise pull question-shaped titles up.
ZH_STOPWORDS: Final = _wordlist(
    """
的 了 吗 呢 吧 啊 呀 嘛 哦 么 是 在 有 和 与 或 及 也 都 就 还 又 要 会
能 可 可以 请 让 把 被 给 对 从 到 为 以 之 而 着 过 这 那 这个 那个 这样
那样 这些 那些 一个 一下 什么 怎么 怎么办 怎样 如何 为什么 为何 哪里 哪儿 多少 几
吗 我 我们 你 你们 您 他 她 它 他们 自己 没 没有 不 不是 一直 已经 现在 时候
然后 但是 但 因为 所以 如果 如 等 后 前 中 里 上 下 个 该 应该 需要 想 帮
帮忙 一 下 再 才 只 还是 呢 嗯 哈 啦 喔 么样 怎么样 能不能 可不可以 是不是
有没有 是否 请问 谢谢 你好 麻烦
"""
)
EN_STOPWORDS: Final = _wordlist(
    """
a an the and or but if then else of to in on at by for with from into onto about as is are was were
be been being am do does did doing have has had having i me my mine we our us you your yours he him
his she her it its they them their this that these those what which who whom whose when where why
how can could should would will shall may might must not no nor so too very just than there here all
any some each both few more most other such only own same s t don doesn didn isn aren wasn won can't
cannot get got please hi hello thanks thank also up out over again still even yet because while
after before until via per im ive id
"""
)

# Variants OpenCC leaves alone but the corpus writes one way (帳戶 → 帐户, while articles say 账户).
_VARIANTS: Final = str.maketrans({"帐": "账"})
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_TEXT: Final = 200_000  # a longer article body is cut (indexing cost stays bounded)

_init_lock = threading.Lock()
_jieba_ready = False


@lru_cache(maxsize=1)
def _converter() -> opencc.OpenCC:
    # tw2sp also converts phrases (網路 → 网络, 軟體 → 软件), not only characters.
    return opencc.OpenCC("tw2sp")


@lru_cache(maxsize=1)
def _stemmer() -> snowballstemmer.stemmer:
    return snowballstemmer.stemmer("english")


def _segmenter() -> None:
    """Load jieba's dictionary once per process, with the domain words added."""
    global _jieba_ready
    if _jieba_ready:
        return
    with _init_lock:
        if not _jieba_ready:
            jieba.setLogLevel(60)
            jieba.initialize()
            for word in DOMAIN_WORDS:
                jieba.add_word(word, freq=200_000)
            _jieba_ready = True


def fold(text: str) -> str:
    """NFKC (full-width → half-width), lower case, Traditional → Simplified; idempotent."""
    text = _CONTROL.sub(" ", text[:MAX_TEXT])
    for _ in range(3):  # each step can expose work for another; stop at the fixed point
        folded = unicodedata.normalize("NFKC", text).lower()
        if _CJK_RUN.search(folded):
            folded = _converter().convert(folded).translate(_VARIANTS)
        if folded == text:
            break
        text = folded
    return text


def is_chinese(text: str) -> bool:
    """Whether the text contains any CJK ideograph (used to guess a query's locale)."""
    return _CJK_RUN.search(text) is not None


def stem(word: str) -> str:
    """The English stem of one lower-case ASCII word (digits and short words stay as they are)."""
    if len(word) <= 3 or not word.isalpha():
        return word
    return str(_stemmer().stemWord(word))


def _ascii_terms(text: str) -> list[str]:
    return [stem(w) for w in _ASCII_WORD.findall(text) if w not in EN_STOPWORDS]


def _cjk_terms(run: str) -> list[str]:
    _segmenter()
    return [w for w in jieba.cut_for_search(run, HMM=True) if w not in ZH_STOPWORDS]


def words(text: str) -> list[str]:
    """Search terms of already folded text, in order: jieba words for Chinese, stems for ASCII."""
    terms: list[str] = []
    position = 0
    for match in _CJK_RUN.finditer(text):
        terms.extend(_ascii_terms(text[position : match.start()]))
        terms.extend(_cjk_terms(match.group()))
        position = match.end()
    terms.extend(_ascii_terms(text[position:]))
    return terms


def bigrams(text: str) -> list[str]:
    """Overlapping Chinese character bigrams of folded text (robust to segmentation and typos)."""
    grams: list[str] = []
    for match in _CJK_RUN.finditer(text):
        run = match.group()
        grams.extend(run[i : i + 2] for i in range(len(run) - 1))
    return grams


def analyze(text: str) -> list[str]:
    """Fold then segment: the terms stored for a document field or looked up for a query."""
    return words(fold(text))


def strip_markdown(markdown: str) -> str:
    """Plain text of a markdown body (headings, emphasis, links, tables) for indexing and snippets."""
    text = re.sub(r"```.*?```", " ", markdown, flags=re.DOTALL)
    text = re.sub(r"!\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"<[^>]{0,200}>", " ", text)
    text = re.sub(r"^\s{0,3}(#{1,6}|>|[-*+]|\d+\.)\s*", "", text, flags=re.MULTILINE)
    text = re.sub(r"^\|?[\s:|-]+\|[\s:|-]*$", " ", text, flags=re.MULTILINE)
    text = text.replace("|", " ").replace("**", "").replace("__", "").replace("`", "")
    return re.sub(r"[ \t]+", " ", text).strip()
