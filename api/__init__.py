"""Cohort's indexer and API: vault events into SQLite or PostgreSQL, served over REST and
WebSocket with OpenAPI, as a multi-account (MAM) view of every pooled vault.

Layout (after the FastAPI full-stack template): `settings` (one BaseSettings, env prefix
`API_`), `models` + `migrations` (SQLAlchemy 2 + Alembic), `ledger` (the pure accounting that
turns events into books), `rows` (the books as table rows, and the reads both sides share),
`indexer` (eth_getLogs, reorgs, resume: the writer), `services` (read-side logic),
`schemas` (response models per resource), `routes` (one router per resource), `deps`
(Annotated dependencies), `main` (the app) and `cli` (`cohort-api`).
"""

__version__ = "0.1.0"
