"""One live upstream stream kept alive: the supervisor, the adapter a provider writes for
it, its backlog, backoff and lifetime, and the listeners told of each stream it opens."""
