"""The WKP-1 function on Azure Functions: function_app.py (Python v2 model), host.json."""
