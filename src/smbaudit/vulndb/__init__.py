"""The local vulnerability store: distributions' advisory feeds in one SQLite file.

- `model`: typed records (one vulnerability of one package in one release).
- `importers/` + `detect`: the upstream formats, recognised by content.
- `store`: the SQLite schema (docs/vulndb.md) and read-only queries.
- `build`: imports into a temporary copy, swapped in atomically under a lock.
- `feeds` + `fetch` + `update`: `vulndb update`, downloads from the official feeds.
- `match`: installed packages against the store.
"""
