"""The suggestions context (代表建议): organizer units, suggestions, constituents' opinions."""
