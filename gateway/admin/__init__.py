"""Admin HTTP server (aiohttp): metrics, health, readiness and the token-protected /api."""
