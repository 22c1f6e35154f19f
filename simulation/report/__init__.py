"""The self-contained HTML report, built from a results folder alone."""
