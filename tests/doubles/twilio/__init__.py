"""A TaskRouter v1 double: Twilio's REST paths, form bodies, JSON shapes and signed callbacks."""
