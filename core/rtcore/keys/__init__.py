"""Virtual keys, limits and spend: keys a master key mints (LiteLLM's admin API shape),
checked before a session starts, and one usage record per session, in a database (SQLite
by default, PostgreSQL for several replicas). Nothing here runs per audio chunk."""
