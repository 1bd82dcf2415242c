"""Live slot events for open pages: SSE and WebSocket routes over the broadcast hub."""
