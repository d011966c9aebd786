"""``rnnapps serve``: exports behind TensorFlow Serving's REST API, and a page per model.

* ``models.py``: the served models -- each name's newest version, picked up
  from disk while the server runs; status and metadata in TF Serving's JSON.
* ``limits.py``: what one request may ask for (the options' defaults).
* ``rest.py``: TF Serving's predict protocol (``instances`` / ``inputs`` in,
  ``predictions`` / ``outputs`` out), checked against the signature.
* ``app.py``: the ASGI application (Starlette): the REST routes, limits,
  JSON errors, the health endpoint and the page.
* ``commands.py``: the command line (``uvicorn`` on 127.0.0.1 by default).

Needs the ``serve`` extra: ``pip install "rnnapps[serve]"``.
"""
