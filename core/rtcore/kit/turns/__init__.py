"""The conversation and the model's turns in it: responses by id (one done each), the
responses and the user's turn of a model that has neither ids nor speech events of its
own, answers held for the client's ask, the conversation mirrored and rendered as text,
replies outside the live context."""
