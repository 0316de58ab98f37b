"""Running on a terminal or a cluster: progress display and interrupt handling."""
