"""Host tools for mpwasi: the `mpwasi` command (CPython only, never copied to a board)."""
