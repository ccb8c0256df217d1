"""Exceptions raised by the classifier package.

ClassifierError                 root: catch this to handle any classifier failure
├── ModelNotFound               no such version / no active model / missing artefact
├── IncompatibleModel           artefact made by another scikit-learn major.minor,
│                               or containing types outside the trusted list
├── TrainingDataError           unreadable, malformed or unusable training data
└── PromotionRefused            candidate scores worse than the active model
"""

from __future__ import annotations


class ClassifierError(Exception):
    """Root of all classifier errors."""


class ModelNotFound(ClassifierError):
    """The requested model version (or the active pointer) does not exist."""


class IncompatibleModel(ClassifierError):
    """The model file cannot be loaded safely with the installed libraries."""


class TrainingDataError(ClassifierError):
    """Training data is malformed or insufficient."""


class PromotionRefused(ClassifierError):
    """Promotion would replace the active model by a worse one."""
