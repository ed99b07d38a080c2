"""The change kinds, one module each; `handlers/requests/kinds.py` lists them."""
