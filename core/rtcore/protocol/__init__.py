"""The OpenAI Realtime wire protocol as typed messages, in both dialects."""
