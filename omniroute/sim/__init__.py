"""A contact-center platform simulator that talks to Omniroute over the webhook spoke."""
