"""The WKP-1 function on Google Cloud Functions: main.py (entry point wkp)."""
