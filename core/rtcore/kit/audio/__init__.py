"""The user's audio: measured for speech and kept for replay, gathered into fewer upstream
events, cut into frames."""
