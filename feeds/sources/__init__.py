"""Sources: where entries come from (remote feeds, local article files)."""
