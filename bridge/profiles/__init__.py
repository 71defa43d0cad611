"""Province profiles: the mapping of each exchange event type to one local layout."""
