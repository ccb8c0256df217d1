"""Topic classifier for citizens' appeals: a pure scikit-learn component.

This package knows nothing about mail, the database or routing rules. It trains a
text model from labelled examples, stores versioned artefacts with a model card,
and predicts topics with calibrated scores. See `classifier.errors` for the
exception tree and `classifier.registry` for the on-disk layout.
"""
