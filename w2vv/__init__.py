"""Enhanced Word2VisualVec (W2VV) for cross-lingual image retrieval, on Python 3 / Keras 3."""
