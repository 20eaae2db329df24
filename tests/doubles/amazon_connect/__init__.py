"""A local double of Amazon Connect for the spoke's tests."""
