"""The routing core: engine state, Tx and the use cases, reached only through typed messages."""
