"""The environment variable of prometheus-client's multiprocess mode, apart from the
metrics themselves: the parent of ``--workers`` must set it before they are imported."""

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
