"""Author tooling for the book: executing and timing notebooks (not part of the reader's package)."""
