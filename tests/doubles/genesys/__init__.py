"""A local double of Genesys Cloud for the Genesys spoke's tests."""
