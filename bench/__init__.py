"""The benchmark of the token exchange; run it with ``make bench``."""
