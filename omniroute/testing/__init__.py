"""Test kit for spoke authors: sample routing events, a local server, the spoke contract."""
