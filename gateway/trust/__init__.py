"""Trust: who may book, see and change what (keys, credentials, partner tokens, sessions)."""
