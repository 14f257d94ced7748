"""The Google Cloud Functions stand-in: the reference function under the real
functions-framework, on a local GCS emulator (docs/functions.md, "Google Cloud
Functions" and "Local stand-ins for GCS and Blob Storage")."""
