"""A local server that speaks the OpenAI Realtime protocol (tests and offline rehearsal)."""
