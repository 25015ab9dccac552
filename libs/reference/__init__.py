"""Read models of one context's facts that other contexts keep for themselves, built from published events only."""
