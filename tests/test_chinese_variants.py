"""Chinese as people type it: traditional characters, Taiwan and Hong Kong wording and full-width
forms, made with OpenCC from real simplified sentences, encode as the simplified originals once
normalised; Latin words inside Chinese survive; the paper's path (normalisation off) is unchanged."""
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import REPO
from w2vv import layout
from w2vv.bigfile import write_bigfile
from w2vv.config import DEFAULTS, load_config
from w2vv.encoders import SentenceEncoder
from w2vv.errors import InputError
from w2vv.languages import normalize_zh, tokenize_zh
from w2vv.run_inputs import encode_cached, make_encoder
from w2vv.text import Tokenizer
from w2vv.vocab import build_vocabularies
from w2vv.word2vec import open_word2vec
from tools.chinese_variants import VARIANTS, converts_back, make_variant, read_sentences

# Simplified sentences written for this test, with the words whose Taiwan form differs.
WRITTEN = ["一个男人骑着自行车穿过马路", "一辆出租车停在路边", "桌子上放着一台笔记本电脑和一个鼠标",
           "一个女人在厨房里做饭", "两个孩子在公园里放风筝", "一只猫躺在沙发上", "一个男人正在用手机打电话",
           "几个人在海滩上冲浪", "一列火车停在车站里", "4匹马在草地上吃草", "桌子上有一台mac笔记本电脑",
           "一个穿着红色衣服的女孩在吃冰淇淋，旁边有一辆公共汽车"]


def variant_encoder(tmp_path, sentences):
    """A normalising Chinese encoder whose vocabularies and word2vec hold every word of the sentences."""
    tokenizer = Tokenizer("zh", normalize=True)
    words = sorted({w for s in sentences for w in tokenizer.tokens(tokenizer.segment(s))})
    vectors = np.random.default_rng(0).normal(size=(len(words), 8)).astype(np.float32)
    write_bigfile(tmp_path / "w2v", words, vectors)
    return SentenceEncoder(tokenizer, words, words, open_word2vec(tmp_path / "w2v"))


def same_encodings(encoder, originals, variants):
    """Per sentence: whether the variant's encoding equals the original's."""
    def encode(sentences):
        e = encoder.encode([(str(i), encoder.tokenizer.segment(s)) for i, s in enumerate(sentences)])
        return e.sequences, e.aux()
    (seq_a, aux_a), (seq_b, aux_b) = encode(originals), encode(variants)
    return (seq_a == seq_b).all(axis=1) & np.isclose(aux_a, aux_b, rtol=0, atol=1e-12).all(axis=1)


def check_variants(tmp_path, sentences):
    encoder = variant_encoder(tmp_path, sentences)
    for kind in VARIANTS:
        back = [s for s in sentences if converts_back(kind, s)]
        assert len(back) >= 0.9 * len(sentences), kind  # OpenCC itself must round-trip most of them
        variants = [make_variant(kind, s) for s in back]
        same = same_encodings(encoder, back, variants)
        assert same.sum() >= 0.99 * len(back), (kind, [v for v, ok in zip(variants, same) if not ok][:5])


def test_written_variants_encode_as_the_originals(tmp_path):
    assert make_variant("taiwan", "一个男人骑着自行车") == "一個男人騎著腳踏車"
    check_variants(tmp_path, WRITTEN)


def test_real_sentences_variants_encode_as_the_originals(fixtures, tmp_path):
    sentences = read_sentences(fixtures / "coco-cn_ext_sample.txt")
    assert len(sentences) == 500
    check_variants(tmp_path, sentences)


def test_as_typed_the_variants_differ():
    """Without normalisation the variants are other words, so the check above can fail."""
    plain = Tokenizer("zh")
    changed = [s for s in WRITTEN if plain.tokens(plain.segment(make_variant("taiwan", s))) != plain.tokens(
        plain.segment(s))]
    assert len(changed) >= len(WRITTEN) - 2


def test_normalize_zh_forms():
    assert normalize_zh("ＭＡＣ筆記型電腦和４匹馬") == "mac笔记本电脑和4匹马"
    assert normalize_zh("計程車和腳踏車") == "出租车和自行车"
    assert normalize_zh("一隻狗，在草地上") == "一只狗,在草地上"
    for s in WRITTEN:
        assert normalize_zh(normalize_zh(s)) == normalize_zh(s)


def test_latin_word_inside_chinese_is_kept_in_lower_case():
    tok = Tokenizer("zh", normalize=True)
    for query in ("桌子上有一台mac笔记本电脑", "桌子上有一台MAC笔记本电脑", "桌子上有一台ｍａｃ筆記型電腦"):
        words = tok.tokens(tok.segment(query))
        assert "mac" in words and "笔记本电脑" in words, words
    assert tok.tokens("一台 mac笔记本 ， 4匹马") == ["一台", "mac", "笔记本", "4匹马"]
    assert Tokenizer("zh").tokens("一台 mac笔记本 ， 4匹马") == ["一台", "笔记本", "4匹马"]  # the original's rule


def test_paper_path_is_unchanged():
    assert DEFAULTS["normalize_zh"] is False
    for name in ("base_w2vv", "w2vv_attention", "w2vv_attention_ctl"):
        assert load_config(name).normalize_zh is False
    plain = Tokenizer("zh")
    sentence = "一個 男人 在 騎 腳踏車 ， 拿 着 ｍａｃ 。"
    assert plain.tokens(sentence) == tokenize_zh(sentence) == \
        ["一個", "男人", "在", "騎", "腳踏車", "拿", "着", "ｍａｃ"]
    assert plain.settings == []
    with pytest.raises(ValueError, match="Chinese"):
        Tokenizer("en", normalize=True)


def test_setting_reaches_vocabulary_encoder_and_cache(tmp_path):
    train = "cococntrain"
    captions = [f"{train}_{i}#0 一個 男人 騎 腳踏車 ， 拿 着 一台 ｍａｃ" for i in range(6)]
    path = Path(layout.caption_file(tmp_path, train))
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(captions) + "\n", encoding="utf-8")
    for normalize in (True, False):
        build_vocabularies(tmp_path, train, Tokenizer("zh", normalize=normalize), log=lambda m: None)
    words = open(layout.vocab_file(tmp_path, train, "bow", 5, "normalize_zh"), encoding="utf-8").read().split()
    assert {"一个", "自行车", "mac"} <= set(words) and "腳踏車" not in words  # beside the original's vocabulary
    assert "腳踏車" in open(layout.vocab_file(tmp_path, train, "bow", 5), encoding="utf-8").read().split()
    write_bigfile(tmp_path / "w2v", words, np.ones((len(words), 500), np.float32))
    on = load_config("w2vv_attention_ctl", overrides={"normalize_zh": "1"})
    off = load_config("w2vv_attention_ctl")
    enc_on = make_encoder(tmp_path, train, on, word2vec_path=tmp_path / "w2v")
    enc_off = make_encoder(tmp_path, train, off, word2vec_path=tmp_path / "w2v")
    assert enc_on.tokenizer.normalize and not enc_off.tokenizer.normalize
    assert make_encoder(tmp_path, train, off, word2vec_path=tmp_path / "w2v", normalize_zh=True).tokenizer.normalize
    a = encode_cached(enc_on, tmp_path, train, log=lambda m: None)
    b = encode_cached(enc_off, tmp_path, train, log=lambda m: None)
    assert os.path.dirname(enc_on.inputs.vocab_files[0]).endswith("vocabulary.normalize_zh/bow")
    assert [len(list((tmp_path / train / "TextData" / folder / "encoded").glob("*.npz")))
            for folder in ("vocabulary", "vocabulary.normalize_zh")] == [1, 1]
    assert "自行车" in enc_on.seq_index and "腳踏車" in enc_off.seq_index  # each its own vocabulary
    assert len(a) == len(b) and not np.array_equal(a.aux(), b.aux())


def test_sentence_file_errors(tmp_path):
    bad = tmp_path / "s.txt"
    bad.write_text("a\t一只狗\nno tab here\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"s.txt:2: expected 'id<TAB>sentence'"):
        read_sentences(bad)
    with pytest.raises(InputError, match="sentence file not found"):
        read_sentences(tmp_path / "missing.txt")


def test_do_all_refuses_a_bad_setting(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text(f"rootpath = {tmp_path}\nnormalize_zh = yes\n")
    done = subprocess.run([str(REPO / "do_all.sh"), "--ini", str(ini), "--stop_stage", "1", "base_w2vv"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and done.stderr.strip() == f"error: {ini}:2: normalize_zh = yes (expected 0 or 1)"
