"""Several nodes on one PostgreSQL database: the lease, forwarding, feeds across nodes."""
