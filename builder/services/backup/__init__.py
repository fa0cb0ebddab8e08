"""`forja backup` and `forja restore`: one archive of everything a Forja needs, and that archive put back into an
empty data folder (docs/deploying.md#backups)."""
