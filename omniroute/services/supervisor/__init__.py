"""The supervisor view: live queue and agent figures with the last hour's history."""
