"""Languages as records (w2vv/languages.py): the collection rule, declarations, query detection."""
import argparse
import importlib.util

import pytest

from w2vv import cli, languages, layout
from w2vv.errors import InputError
from w2vv.settings import read_settings
from w2vv.text import Tokenizer

HAS_JANOME = importlib.util.find_spec("janome") is not None
needs_janome = pytest.mark.skipif(not HAS_JANOME, reason="janome not installed (pip install -r requirements-ja.txt)")


@pytest.fixture(autouse=True)
def no_declarations():
    languages.declare("")
    yield
    languages.declare("")


def test_the_papers_rule_without_declarations():
    names = ("cococntrain", "cococnval", "mscoco2014dev-train", "cn", "xcn", "cnfoo-cn")  # as find('cn') > 0
    assert [languages.language_of(c) for c in names] == ["zh", "zh", "en", "en", "zh", "en"]


def test_declarations_come_first_and_the_option_resets_them():
    parser = argparse.ArgumentParser()
    cli.add_languages(parser)
    cli.parse_args(parser, ["--languages", "cocoja*=ja mine=zh"])
    assert languages.language_of("cocojatrain") == "ja" and languages.language_of("mine") == "zh"
    assert languages.language_of("cococntrain") == "zh"          # undeclared: the paper's rule
    cli.parse_args(parser, [])                                    # the default declares nothing
    assert languages.language_of("cocojatrain") == "en"


@pytest.mark.parametrize("text, message", [("cocoja*", "expected PATTERN=CODE"), ("x=fr", "language 'fr' unknown")])
def test_a_bad_declaration_is_refused(text, message, tmp_path, capsys):
    parser = argparse.ArgumentParser()
    cli.add_languages(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["--languages", text])
    assert message in capsys.readouterr().err
    ini = tmp_path / "x.ini"
    ini.write_text(f"rootpath = /r\nlanguages = {text}\n")
    with pytest.raises(InputError, match=f"x.ini:2: languages = .*{message}"):
        read_settings(str(ini))


def test_a_collection_declared_of_two_languages_is_refused(tmp_path):
    """The first pattern won in silence: my*=zh mytrain=ja trained mytrain as Chinese, swapped as Japanese."""
    declared = languages.parse_declarations("my*=zh mytrain=ja")
    assert languages.language_of("myval", declared) == "zh"
    with pytest.raises(InputError, match=r"^languages: mytrain is declared zh \(my\*=zh\) and ja \(mytrain=ja\)"):
        languages.language_of("mytrain", declared)
    ini = tmp_path / "x.ini"
    ini.write_text("rootpath = /r\nlanguages = my*=zh mytrain=ja\nquery_train = mytrain\nquery_val = myval\n"
                   "query_test = mytest\n")
    with pytest.raises(InputError, match=r"x.ini:2: languages: mytrain is declared zh"):
        read_settings(str(ini))


def test_each_record_places_its_word2vec_in_the_root():
    assert layout.word2vec_path("/r", "zh") == "/r/zh_w2v/model/zh_jieba.model"
    assert layout.word2vec_path("/r", "en") == "/r/word2vec/flickr/vec500flickr30m"
    assert layout.word2vec_path("/r", "ja") == "/r/ja_w2v/model/ja_janome.model"


def test_result_folders_are_named_after_the_language_pair():
    assert layout.cl_run_name("c") == "zh2en_c" and layout.fusion_run_name("c") == "zh2en2img_c"
    assert layout.cl_run_name("c", "ja") == "ja2en_c" and layout.fusion_run_name("c", "ja") == "ja2en2img_c"
    assert layout.results_file("/r", "c") == "/r/results/c.txt"
    assert layout.results_file("/r", "c", "ja") == "/r/results/ja2en2img_c.txt"
    # one run on other collections: a table of its own, not the paper collections' replaced in silence
    assert layout.results_file("/r", "c", "zh", ["cococntrain", "cococnval", "cococntest"]) == "/r/results/c.txt"
    assert layout.results_file("/r", "c", rank_norm=True) == "/r/results/c.rank_norm.txt"
    assert layout.report_file("/r", "zh", ["cococntrain", "cococntest"]) == "/r/results/zh2en2img_results.txt"
    assert layout.report_file("/r", "zh", ["mytrain", "mytest"]) == "/r/results/zh2en2img_results.mytrain.mytest.txt"
    assert layout.results_file("/r", "c", "zh", ["mytrain", "myval", "mytest"]) == \
        "/r/results/c.mytrain.myval.mytest.txt"


@pytest.mark.parametrize("query, loaded, expected", [
    ("a dog on the grass", ["en", "zh"], "en"),
    ("一只狗在草地上跑", ["en", "zh"], "zh"),
    ("犬が走っている", ["en", "ja", "zh"], "ja"),     # kana: Japanese, whatever else is loaded
    ("犬", ["en", "ja"], "ja"),                       # ideographs alone: the one loaded model that reads them
    ("犬", ["en", "zh"], "zh"),
    ("a dog", ["zh"], "en"),                          # no loaded model recognises it: said, not guessed
    ("🐶", ["zh"], "zh"),                             # no word of any language: not 'an English query'
    ("🐶", ["en", "zh"], "en"),
])
def test_a_query_reaches_the_loaded_language_that_recognises_it(query, loaded, expected):
    assert languages.detect(query, loaded) == expected


def test_ideographs_alone_with_chinese_and_japanese_loaded_ask_for_lang():
    with pytest.raises(InputError, match=r"could be Chinese or Japanese: give its language \(--lang zh\|ja\)"):
        languages.detect("黒猫", ["en", "zh", "ja"])


def test_an_unknown_code_is_a_one_line_error():
    with pytest.raises(InputError, match="language 'fr' unknown"):
        languages.get("fr")


@needs_janome
def test_japanese_is_split_by_janome_and_its_stop_words_left_out():
    tok = Tokenizer("ja")
    assert tok.tokens("白い犬が浜辺で走っている。") == ["白い", "犬", "が", "浜辺", "で", "走っ", "て", "いる"]
    assert tok.content_tokens("白い犬が浜辺で走っている。") == ["白い", "犬", "浜辺", "走っ"]
    assert tok.tokens("ＡＢＣの犬") == ["abc", "の", "犬"]             # NFKC, lower case
    assert tok.segment("赤いバス") == "赤いバス"                      # no segmentation step: read as typed


def test_normalisation_is_a_step_of_the_chinese_record_only():
    assert Tokenizer("zh", normalize=True).normalize
    for code in ("en", "ja"):
        with pytest.raises(ValueError, match="Chinese tokenizer only"):
            Tokenizer(code, normalize=True)


def test_cl_without_english_collections_names_the_declaration_missing(tmp_path):
    """An English model trained on collections whose names read as Chinese ('cn' inside): search fell back to cm
    saying only 'give en_collections'."""
    from types import SimpleNamespace

    from w2vv.retrieval.pivot_sentences import load_pivot_sentences
    en = SimpleNamespace(train="mscocnn-train", val="mscocnn-val")
    with pytest.raises(InputError, match=r"no English sentence collection found for the CL route \(give "
                                         r"en_collections; the English model's mscocnn-train reads as Chinese by its "
                                         r"name: declare its collections English, e.g. --languages "
                                         r"'mscocnn-\*=en'\)$"):
        load_pivot_sentences(str(tmp_path), en, None, None, "numpy", print)
