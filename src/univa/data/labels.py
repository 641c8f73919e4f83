"""Label sets of the two benchmarks, in the column order of their `labels_class` arrays."""

MOSEI_LABELS: list[str] = ["happy", "sad", "anger", "surprise", "disgust", "fear"]
M3ED_LABELS: list[str] = ["Happy", "Surprise", "Sad", "Disgust", "Anger", "Fear", "Neutral"]
