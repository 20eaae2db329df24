"""Local doubles of contact-center providers, run as separate processes in tests."""
