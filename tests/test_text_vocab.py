"""Tokenisation, stop words and vocabularies (docs/method.md#tokenisation-and-stop-words,
#vocabularies): the original's lists by default, and exactly the original's words and counts."""
import pytest

from w2vv import layout
from w2vv.collection_files import read_captions, read_imageset
from w2vv.config import load_config
from w2vv.errors import InputError
from w2vv.runs import resolve_inputs
from w2vv.settings import read_settings
from w2vv.languages import LANGUAGES, segment_zh, tokenize_en, tokenize_zh
from w2vv.text import DEFAULT_STOPWORDS, Tokenizer, load_stopwords
from w2vv.vocab import build_vocabularies, count_words, load_vocab


def test_english_tokenisation():
    assert tokenize_en("A dog,\r running on the BEACH. 2 kids!") == \
        ["a", "dog", "running", "on", "the", "beach", "2", "kids"]
    assert tokenize_en("café naïve") == ["caf", "na", "ve"]


def test_chinese_tokenisation_deletes_punctuation_and_latin():
    assert tokenize_zh("一只 狗 ， 在 “草地” 上 跑 。 mac 笔记本") == ["一只", "狗", "在", "草地", "上", "跑", "笔记本"]


def test_stopwords_are_replaceable(tmp_path):
    (tmp_path / "stop.txt").write_text("dog\n")
    tok = Tokenizer("en", tmp_path / "stop.txt")
    assert tok.content_tokens("the dog runs") == ["the", "runs"]
    assert Tokenizer("en").content_tokens("the dog runs") == ["dog", "runs"]
    with pytest.raises(InputError, match="missing.txt: stop-word list not found"):
        Tokenizer("en", tmp_path / "missing.txt")
    with pytest.raises(InputError, match="missing.txt: stop-word list not found$"):  # said 'not found' alone
        resolve_inputs(str(tmp_path), "cococntrain", load_config("base_w2vv", overrides={
            "stopwords_zh": str(tmp_path / "missing.txt")}))


@pytest.mark.parametrize("lang, other", [("zh", "en"), ("en", "zh")])
def test_a_stop_word_list_of_another_language_stops(lang, other):
    """The English list named for Chinese (or the reverse) removed none of the sentences' stop words, in silence."""
    with pytest.raises(InputError, match=rf"{other}.txt: \d+ of the \d+ words of this stop-word list are "
                                         rf"{LANGUAGES[lang].name}: a list of another language \(stopwords_{lang}\)"):
        Tokenizer(lang, DEFAULT_STOPWORDS[other])


def test_a_byte_order_mark_opening_a_file_is_not_read_as_text(tmp_path):
    """Caption, ImageSets, stop-word and settings files saved by an editor that writes a byte-order mark."""
    def with_mark(name, text):
        (tmp_path / name).write_text(text, encoding="utf-8-sig")
        return tmp_path / name

    assert read_captions(with_mark("c.txt", "img1#0 a dog\n")) == [("img1#0", "a dog")]
    assert read_imageset(with_mark("set.txt", "img1\nimg2\n")) == ["img1", "img2"]
    assert load_stopwords(with_mark("stop.txt", "dog\n")) == {"dog"}
    assert read_settings(with_mark("s.ini", "rootpath = /data\n"))["rootpath"] == "/data"


def test_raw_chinese_query_is_segmented_with_jieba():
    words = segment_zh("一只狗在草地上跑").split()
    assert "狗" in words and "草地" in words and len(words) >= 4


def test_count_words_threshold_and_order():
    counts = count_words([["a", "b", "a"], ["c", "a", "b"], ["b", "d"]], threshold=2)
    assert counts == [("a", 3), ("b", 3)]


UNSEGMENTED = (": 2 of them have no space, but Chinese caption files hold words separated by spaces (segment them "
               "first, e.g. with jieba as the release did)")


@pytest.mark.parametrize("lang, sentences, hint", [
    ("zh", ["一只狗在草地上跑。", "一架飞机在天空中飞", "两只 猫"], UNSEGMENTED),
    ("en", ["a dog", "a cat"], " (a --freq_threshold that high, or captions of another language?)")])
def test_an_empty_vocabulary_stops_naming_the_likely_cause(tmp_path, lang, sentences, hint):
    """Unsegmented Chinese captions count whole sentences as words: none is frequent, nothing is written."""
    train = "cococntrain" if lang == "zh" else "mscoco2014dev-train"
    path = tmp_path / train / "TextData" / f"{train}.caption.txt"
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"img{i}#0 {s}\n" for i, s in enumerate(sentences)), encoding="utf-8")
    with pytest.raises(InputError) as error:
        build_vocabularies(tmp_path, train, Tokenizer(lang), threshold=5, log=lambda m: None)
    assert str(error.value) == f"{path}: no word is seen 5 times or more in its {len(sentences)} sentences{hint}"
    assert not (tmp_path / train / "TextData" / "vocabulary").exists()


def test_default_stopwords_are_the_originals(fixtures):
    for lang in ("en", "zh"):
        original = load_stopwords(fixtures / "original_w2vv" / "stopwords" / f"{lang}_stopwords.txt")
        assert Tokenizer(lang).stopwords == original
    assert len(Tokenizer("en").stopwords) == 153 and len(Tokenizer("zh").stopwords) == 1763


def test_vocabulary_files_match_the_original(fixtures, tmp_path):
    """Built from the fixture's captions with the default stop words: the original's words and counts."""
    src = fixtures / "original_w2vv" / "VisualSearch"
    for train, lang in (("mscoco2014dev-train", "en"), ("cococntrain", "zh")):
        caption = layout.caption_file(src, train)
        dst = tmp_path / train / "TextData"
        dst.mkdir(parents=True)
        (dst / f"{train}.caption.txt").write_bytes(open(caption, "rb").read())
        build_vocabularies(tmp_path, train, Tokenizer(lang), log=lambda m: None)
        for style in ("bow", "bow_filterstop"):
            ours = open(layout.vocab_counter_file(tmp_path, train, style), encoding="utf-8").read().split("\n")
            theirs = open(layout.vocab_counter_file(src, train, style), encoding="utf-8").read().split("\n")
            assert sorted(filter(None, ours)) == sorted(filter(None, theirs)), (train, style)
            counts = [int(line.split()[1]) for line in ours if line]
            assert counts == sorted(counts, reverse=True)
            assert len(load_vocab(layout.vocab_file(tmp_path, train, style))) == len(counts)


def test_lines_split_as_the_originals_python_2_did(tmp_path):
    """A carriage return inside a caption stays in it and reads as a space (the original's ``open`` kept it,
    universal newlines would cut the caption there); a file of lines ending in \\r alone is refused, as
    a full-width or no-break space is part of a Chinese word (its Python 2 split saw bytes, ASCII white space)."""
    (tmp_path / "c.txt").write_bytes(b"img1#0 a dog\ron the grass\r\nimg2#0 a cat\r\n")
    assert read_captions(tmp_path / "c.txt") == [("img1#0", "a dog\ron the grass"), ("img2#0", "a cat")]
    assert tokenize_en("a dog\ron the grass") == ["a", "dog", "on", "the", "grass"]
    (tmp_path / "mac.txt").write_bytes(b"img1#0 a dog\rimg2#0 a cat\r")
    with pytest.raises(InputError, match=r"mac.txt:1: a carriage return \(\\r\) followed by a sentence id"):
        read_captions(tmp_path / "mac.txt")
    assert tokenize_zh("男人\u3000狗 在\t草地\xa0上") == ["男人\u3000狗", "在", "草地\xa0上"]
    (tmp_path / "vocab.txt").write_text("男人\u3000狗 7\n草地 5\n")
    assert load_vocab(tmp_path / "vocab.txt") == ["男人\u3000狗", "草地"]


def test_text_files_that_are_not_one_name_the_line_or_the_folder(tmp_path):
    (tmp_path / "c.txt").write_bytes(b"img1#0 a dog\nimg2#0 caf\xe9\n")
    with pytest.raises(InputError, match=r"c.txt:2: caption file is not UTF-8 text"):
        read_captions(tmp_path / "c.txt")
    with pytest.raises(InputError, match=r"stop-word list expected, found a folder"):
        load_stopwords(tmp_path)
    (tmp_path / "stop.txt").write_text("the\na an the of\n")
    with pytest.raises(InputError, match=r"stop.txt:2: 4 words on one line \('a an the …'\): a stop-word list holds "
                                         r"one word a line"):
        load_stopwords(tmp_path / "stop.txt")


def test_a_vocabulary_empty_without_stop_words_writes_neither(tmp_path):
    """Captions whose frequent words are all stop words: bow was written, then bow_filterstop failed, and the
    message said no word was frequent, where five were."""
    train = "mscoco2014dev-train"
    path = tmp_path / train / "TextData" / f"{train}.caption.txt"
    path.parent.mkdir(parents=True)
    path.write_text("".join(f"img{i}#0 a the in is on word{i}\n" for i in range(10)), encoding="utf-8")
    with pytest.raises(InputError, match=rf"no word but stop words \({DEFAULT_STOPWORDS['en']}\) is seen 5 times"):
        build_vocabularies(tmp_path, train, Tokenizer("en"), threshold=5, log=lambda m: None)
    assert not (tmp_path / train / "TextData" / "vocabulary").exists()
