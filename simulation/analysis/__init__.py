"""Statistics on replications: means and CIs, paired differences, precision, warm-up, PRCC sensitivity."""
