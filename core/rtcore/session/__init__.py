"""The OpenAI Realtime session state machine: no I/O, commands out, server events out."""
