"""Testing one trained model on collections (docs/method.md#testing-a-model-cm): ``sent_feat.txt`` for every
sentence and, for a collection in a query language (not the pivot, English; or on request), the ranking of all test
images per sentence with its figures: this is CM. W2VV: a sentence's vector is the predicted visual feature, a
score its cosine with an image's feature. A successor (W2VV++, SEA): a sentence's vector is its text tower's
output, an image's its image tower's projection of the feature, a score their dot product (the cosine in the
common space, summed over SEA's spaces)."""
import functools
import os

from . import languages, layout, runs
from .bigfile import require_finite
from .checkpoint import load_model_config
from .collection_files import require_held_out
from .feature_norm import normalize_features
from .inference import (ALL_FAMILIES, best_weights_file, load_trained_model, predict_vectors, sentence_image_scores,
                        sentence_model, trained_model_name)
from .layout import SENT_FEAT_FILE
from .pages import write_results_page
from .pivot_space import towers_settings
from .ranking import is_done, remove_results, write_results, write_sent_feat
from .result_checks import MODEL_SETTINGS, require_trained_on_current_data
from .run_inputs import load_collection, model_encoder, open_features


# The files of a run record that loading the model reads, each checked as read (runs.model_inputs,
# runs.require_recorded_features)
READ_WHEN_LOADED = ("stopwords", "word2vec", "vocabularies", "features")


def predict_and_rank(root, train, tests, folder, weights_file=None, evaluate=None, feature_collection=None,
                     word2vec_path=None, stopwords_path=None, overwrite=True, log=print):
    """Predict and (for a query language, or ``evaluate``) rank each collection of ``tests``, the model
    loaded once, when the first needs it; returns the output folders. Without ``overwrite``, a folder
    that already holds the results is left as it is. The model's inputs are those its run record names
    (``run_inputs.model_encoder``); ``feature_collection``, ``word2vec_path``, ``stopwords_path``: given
    on a command line, they must agree with the record."""
    weights_file = weights_file or best_weights_file(folder)
    feature_collection = runs.recorded_feature_collection(folder, feature_collection)

    @functools.cache
    def load():
        model, cfg = load_trained_model(folder, weights_file, families=ALL_FAMILIES)
        features = open_features(root, cfg, feature_collection)
        runs.require_recorded_features(folder, root, features.folder)
        return model, cfg, model_encoder(folder, root, cfg, word2vec_path, stopwords_path, log=log), features

    features_dir = _ranked_features(root, folder, feature_collection)
    record = runs.recorded_run(folder)  # read by compare.py when the model's folder is gone ({}: none to read)
    if record:  # its training captions and image lists; what loading reads is checked there, with its own message
        require_trained_on_current_data(folder, record[1], root, skip=READ_WHEN_LOADED)
    settings = {**towers_settings(folder), MODEL_SETTINGS: record[1] if record else {}}
    return [_predict_and_rank_one(root, train, test, folder, weights_file, evaluate, overwrite, load, log,
                                  features_dir, settings) for test in tests]


def require_held_out_of(root, train, folder, tests):
    """``require_held_out`` for the model in ``folder`` (its val collection read from the folder's path):
    the collections may have changed since it was trained."""
    val = layout.checkpoint_parts(folder)[2] if layout.is_checkpoint_dir(folder) else None
    require_held_out(root, train, val, tests)


def _ranked_features(root, folder, feature_collection):
    """The feature folder the model in ``folder`` ranks images by: its run record's, else its config's (a model
    converted from the original's), else the paper's (the original code's own folder: its model.json names none)."""
    recorded = runs.recorded_features_dir(folder, root)
    if recorded:
        return recorded
    if os.path.isfile(os.path.join(folder, layout.CONFIG_FILE)):
        return layout.feature_dir(root, load_model_config(folder)[0].img_feature, feature_collection)
    if os.path.isfile(os.path.join(folder, layout.MODEL_FILE)):  # the original code's: the paper's feature
        return layout.feature_dir(root, layout.PAPER_FEATURE, feature_collection)
    return None


def _predict_and_rank_one(root, train, test, folder, weights_file, evaluate, overwrite, load, log, features_dir,
                          settings):
    evaluate = languages.language_of(test) != languages.PIVOT if evaluate is None else evaluate
    out = layout.similarity_dir(root, test, train, trained_model_name(folder))
    # a ranking ranks the ImageSets' images by their features: an edited list or features changed leave it stale,
    # as new captions or weights do
    ranked = [layout.imageset_file(root, test), *([features_dir] if features_dir else [])] if evaluate else []
    inputs = [weights_file, layout.caption_file(root, test), *ranked]
    if not overwrite and os.path.isfile(os.path.join(out, SENT_FEAT_FILE)) and (is_done(out) or not evaluate):
        if runs.inputs_unchanged(out, inputs, **settings):
            log(f"{test}: already tested, skipped: {out}")
            return out
        if runs.inputs_unchanged(out, inputs, **{k: v for k, v in settings.items() if k != MODEL_SETTINGS}):
            log(f"{test}: {out} was recorded before results held their model's settings: testing again, once")
        else:
            log(f"{test}: the model, its features, the captions or the images changed since {out} was written "
                f"(or its record names fewer of them): testing again")
    model, cfg, encoder, features = load()
    collection, zero_filled = load_collection(root, test, encoder, features, keep_incomplete=True, log=log)
    if evaluate:  # before anything is written
        collection.require_ranked_images(root)
        raw_images = features.read_rows(collection.image_rows)
        require_finite(features, collection.image_rows, raw_images)
    successor = cfg.family != "w2vv"
    vectors = predict_vectors(sentence_model(model, successor), collection.sentences)
    remove_results(out)  # an earlier ranking, or the record of earlier vectors, would pass for these vectors
    write_sent_feat(os.path.join(out, SENT_FEAT_FILE), collection.sentences.ids, vectors)
    log(f"{test}: {len(vectors)} sentence vectors -> {out}/{SENT_FEAT_FILE}")
    if not evaluate:
        runs.record_inputs(out, inputs, **settings)
        return out
    images = normalize_features(raw_images, cfg)
    scores = sentence_image_scores(model, successor, vectors, images)
    metrics = write_results(out, collection.sentences.ids, collection.image_ids, scores, collection.relevance().T,
                            extra={"n_zero_filled_sentences": zero_filled})
    runs.record_inputs(out, inputs, **settings)
    page, _ = write_results_page(root, test, train, os.path.basename(out))
    log(f"{test}: mIR {metrics['mir']:.4f}  R@1 {metrics['r1']:.3f}  R@5 {metrics['r5']:.3f}  "
        f"R@10 {metrics['r10']:.3f}  medr {metrics['medr']:g}  ({len(collection.image_ids)} images); page: {page}")
    return out
