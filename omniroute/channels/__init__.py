"""Customer channels: how customers reach Omniroute (email over SMTP, web chat)."""
