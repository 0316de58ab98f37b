"""`genmbo benchmark`: methods on tasks over seeds, each scored on the library `genmbo design` writes, and
oracle scoring of a library (`genmbo evaluate`)."""
