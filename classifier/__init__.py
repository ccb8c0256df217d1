"""Topic classifier: a pure scikit-learn component (no database, no mail)."""
