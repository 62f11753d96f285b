"""Classifier wrapper that trains on encoded labels 0..K-1 and answers in the original labels.

The engine encodes labels once so that every candidate, fold and metric sees the same integer
classes (mixed-type or string labels never reach an estimator). The finalized pipeline ends with
this wrapper so ``predict`` returns the user's labels and ``classes_`` lists them.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.ensemble import VotingClassifier
from sklearn.utils.metaestimators import available_if


def align_proba(estimator, proba: np.ndarray, n_classes: int) -> np.ndarray:
    """Spread ``proba`` columns (ordered as ``estimator.classes_``) over all ``n_classes``."""
    seen = np.asarray(estimator.classes_, dtype=int)
    if len(seen) == n_classes and np.array_equal(seen, np.arange(n_classes)):
        return proba
    full = np.zeros((proba.shape[0], n_classes), dtype=float)
    full[:, seen] = proba
    return full


class DecodedClassifier(ClassifierMixin, BaseEstimator):
    def __init__(self, estimator=None, classes=None):
        self.estimator = estimator
        self.classes = classes

    def fit(self, X, y):
        self.estimator_ = clone(self.estimator).fit(X, np.asarray(y, dtype=int))
        self.classes_ = np.asarray(self.classes)
        return self

    def predict(self, X):
        return self.classes_[np.asarray(self.estimator_.predict(X), dtype=int)]

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_proba(self, X):
        proba = self.estimator_.predict_proba(X)
        return align_proba(self.estimator_, proba, len(self.classes_))

    @available_if(lambda self: hasattr(self.estimator, "predict_proba"))
    def predict_with_proba(self, X):
        """Labels and probabilities together; a soft vote derives its labels from the averaged
        probabilities (exactly what its ``predict`` does) instead of running every member twice."""
        est = self.estimator_
        proba = est.predict_proba(X)
        if isinstance(est, VotingClassifier) and est.voting == "soft":
            raw = est.classes_[np.argmax(proba, axis=1)]
        else:
            raw = est.predict(X)
        labels = self.classes_[np.asarray(raw, dtype=int)]
        return labels, align_proba(est, proba, len(self.classes_))

    @available_if(lambda self: hasattr(self.estimator, "decision_function"))
    def decision_function(self, X):
        return self.estimator_.decision_function(X)
