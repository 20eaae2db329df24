"""The case channel's public form: customers file cases without an account."""
