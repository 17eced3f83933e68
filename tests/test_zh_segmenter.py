"""jieba's dictionary read on demand (``w2vv.zh_segmenter``): the same cuts as jieba's own tokenizer,
from a table written once, without loading jieba's whole dictionary."""
import random

import pytest

from w2vv import zh_segmenter

SENTENCES = ["一只狗在草地上跑", "一隻狗在草地上跑，旁邊有一輛腳踏車", "mac笔记本电脑放在桌子上",
             "两个人在海滩上放风筝", "一架飞机在蓝色的天空中飞行", "厨房里有一个冰箱和微波炉", "", "   ", "狗" * 40,
             "abc\0def", "𠀀𠀁狗"]


@pytest.fixture
def segmenter(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    zh_segmenter.segmenter.cache_clear()
    yield zh_segmenter.segmenter()
    zh_segmenter.segmenter.cache_clear()


def random_sentences(n, seed=0):
    """Sentences of dictionary words and single characters, with punctuation and Latin words between."""
    import jieba
    jieba.dt.initialize()
    rng = random.Random(seed)
    words = sorted(w for w, count in jieba.dt.FREQ.items() if count)
    chars = sorted({c for w in rng.sample(words, 3000) for c in w})
    def pieces():
        return rng.choice(words) if rng.random() < 0.6 else rng.choice(chars + ["，", "。", "mac", " ", "2"])
    return ["".join(pieces() for _ in range(rng.randint(1, 12))) for _ in range(n)]


def test_the_table_cuts_as_jieba_does(segmenter):
    import jieba
    assert isinstance(segmenter.FREQ, zh_segmenter.PrefixTable) and segmenter is not jieba.dt
    for sentence in SENTENCES + random_sentences(3000):
        assert list(segmenter.cut(sentence)) == list(jieba.cut(sentence)), sentence


def test_the_table_is_written_once_and_read_without_jieba_s_dictionary(segmenter, tmp_path):
    folder = zh_segmenter.cache_folder(__import__("jieba"))
    assert folder.startswith(str(tmp_path)) and sorted(p.name for p in (tmp_path / "w2vv").iterdir()) == \
        [folder.rsplit("/", 1)[1]]
    table = segmenter.FREQ
    assert "狗" in table and table["草地"] > 0 and table.get("没有这个词") is None and "abc\0" not in table
    with pytest.raises(KeyError):
        table["没有这个词"]


def test_an_unwritable_cache_falls_back_on_jieba_s_own(tmp_path, monkeypatch):
    import jieba
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))  # a file where the folder would be
    zh_segmenter.segmenter.cache_clear()
    try:
        assert zh_segmenter.segmenter() is jieba.dt
    finally:
        zh_segmenter.segmenter.cache_clear()
