"""The email channel: an SMTP listener for inbound mail and a relay client for replies."""
