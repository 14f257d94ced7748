"""Object stores behind the WKP-1 function: one narrow interface, one backend per module."""
