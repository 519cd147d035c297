"""What the pages and the API share: the base form, permission checks, the
visitors' page cache, URL helpers and the safe next-page redirect."""
