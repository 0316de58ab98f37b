"""What a run writes: safe file writing, the library files (CSV, Parquet, SDF) and the HTML report."""
