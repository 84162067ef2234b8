"""Sparkify warehouse: song and event JSON into a checked star schema on PostgreSQL or Redshift."""
