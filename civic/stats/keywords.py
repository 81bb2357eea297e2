"""Keywords of case descriptions for the hot topics (热点): jieba segments the
Chinese text, a stop-word list drops the words every report has (请, 附近,
问题 …), and each remaining word counts once per case, on the day it was
reported, in stats_keywords. The hot-topics view sums a period's rows; it never
reads the descriptions again.

Numbers (phone numbers, door numbers), single characters, punctuation and Latin
fragments shorter than three letters are not keywords."""
import functools
import logging
import re
from pathlib import Path

WORD = re.compile(r"^(?:[\u4e00-\u9fff]{2,8}|[A-Za-z]{3,20})$")
MAX_WORDS_PER_CASE = 12


@functools.cache
def stop_words():
    path = Path(__file__).with_name("stopwords.txt")
    words = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        words.update(line.split())
    return frozenset(words)


@functools.cache
def _tokenizer():
    import jieba

    jieba.setLogLevel(logging.WARNING)  # it prints its dictionary loading otherwise
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in DOMAIN_WORDS:
        tokenizer.add_word(word, freq=20000)
    return tokenizer


# Words of the trade that jieba's general dictionary would split.
DOMAIN_WORDS = ("消防通道", "垃圾桶", "垃圾箱", "井盖", "占道经营", "乱停放", "小广告", "满溢", "渣土",
                "共享单车", "电动车", "飞线充电", "犬只", "未牵绳", "积水", "路灯", "盲道")


def keywords(text):
    """The distinct keywords of one description, in the order they first appear."""
    if not text:
        return []
    seen, stop = [], stop_words()
    for token in _tokenizer().cut(text[:2000]):
        token = token.strip().lower()
        if WORD.match(token) and token not in stop and token not in seen:
            seen.append(token)
            if len(seen) == MAX_WORDS_PER_CASE:
                break
    return seen
