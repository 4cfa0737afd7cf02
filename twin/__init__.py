"""The local twin of a stack: its data plane on moto server, its functions run from their real artifacts."""
