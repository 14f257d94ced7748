"""The WKP-1 function: an aiohttp app serving /persist, /restore and /health over an ObjectStore."""
