"""A local host for Azure Functions apps written in the Python v2 programming
model, standing in for the Functions host and Core Tools (which download from
GitHub and are not used here): docs/functions.md, "Azure Functions"."""
