"""From a search's pool to the library: constraints on designs, filtering decoded designs, the one model
that values designs, diverse selection and polishing by single edits. The same for every search method."""
