// Evaluation: see the metrics files.
