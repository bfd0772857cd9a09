"""The gateway as an MCP client: a session's MCP servers, connected, listed and called by
rtcore itself for every model (a provider sees function tools only). See docs/mcp.md."""
