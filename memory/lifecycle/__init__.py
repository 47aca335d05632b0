"""How memory ages and ends: forgetting for good (and, later, compaction, archives, backups)."""
