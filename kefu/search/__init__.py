"""Knowledge-base search: normalisation (jieba, OpenCC, snowball), FTS5/PostgreSQL backends, ranking."""
