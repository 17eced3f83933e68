"""Testing one trained model on a collection (REFERENCE §8): ``sent_feat.txt`` for every
sentence and, for Chinese collections (or on request), the ranking of all test images per
sentence with its figures: this is CM."""
import json
import os

from . import layout
from .data import load_collection, make_encoder, open_features
from .dataset import normalize_features
from .ranking import METRICS_FILE, cosine_scores, write_results, write_sent_feat
from .training import load_trained_model, predict_vectors


def test_model(root, train, test, folder, weights_file=None, evaluate=None,
               feature_collection=layout.DEFAULT_FEATURE_COLLECTION, word2vec_path=None, log=print):
    """Predict and (for Chinese, or ``evaluate``) rank; returns (output folder, metrics or None)."""
    model, cfg = load_trained_model(folder, weights_file)
    encoder = make_encoder(root, train, cfg, word2vec_path)
    features = open_features(root, cfg, feature_collection)
    collection, zero_filled = load_collection(root, test, encoder, features, keep_incomplete=True, log=log)
    vectors = predict_vectors(model, collection.sentences)
    out = layout.similarity_dir(root, test, train, cfg.name)
    write_sent_feat(os.path.join(out, "sent_feat.txt"), collection.sentences.ids, vectors)
    log(f"{test}: {len(vectors)} sentence vectors -> {out}/sent_feat.txt")
    if not (layout.is_chinese(test) if evaluate is None else evaluate):
        return out, None
    images = normalize_features(features.read_rows(collection.image_rows), cfg)
    scores = cosine_scores(vectors, images)
    metrics = write_results(out, collection.sentences.ids, collection.image_ids, scores,
                            collection.relevance().T)
    metrics.update(n_zero_filled_sentences=zero_filled, weights=os.path.basename(weights_file or "") or "best")
    with open(os.path.join(out, METRICS_FILE), "w") as f:
        json.dump(metrics, f, indent=2)
    log(f"{test}: mIR {metrics['mir']:.4f}  R@1 {metrics['r1']:.3f}  R@5 {metrics['r5']:.3f}  "
        f"R@10 {metrics['r10']:.3f}  medr {metrics['medr']:g}  ({len(collection.image_ids)} images)")
    return out, metrics
