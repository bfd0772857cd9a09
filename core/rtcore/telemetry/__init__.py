"""What an operator watches: the session a log line is about, and the service's metrics."""
