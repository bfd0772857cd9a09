"""rtcore's audio-path benchmark: direct SDK vs ``rtcore serve`` vs LiteLLM's proxy.

Run ``python -m bench --help``. See docs/performance.md for what it measures and how.
"""
