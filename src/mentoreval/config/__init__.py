"""Configuration models: the study config (``study.yaml``), strictly validated."""
