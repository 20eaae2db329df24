"""Spokes: connectors to contact-center providers."""
