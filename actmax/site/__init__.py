"""The static HTML site built over gallery folders."""
