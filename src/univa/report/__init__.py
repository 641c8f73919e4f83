"""End-of-run reporting: results files and tables, per-split outputs and thresholds, figures,
loggers and the console."""
