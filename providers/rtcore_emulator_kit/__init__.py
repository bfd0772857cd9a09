"""What the protocol emulators share that is not speech: their local CA, their command-line
scaffolding, the fault-spec grammar, the loopback server's lifecycle and the pieces of their
rtcore registration that need nothing of rtcore.

Like the emulators it serves, it imports nothing of rtcore and nothing of any provider: an
emulator built on it stays an independent oracle. Each module loads only what it needs (the
Nova Sonic emulator serves HTTP/2 of its own, so ``web`` and its aiohttp stay unloaded there).
"""
