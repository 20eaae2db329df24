"""The agent's everyday tools: canned responses, notes, attachments, customers, search."""
