"""The domain: plain functions over a SQLAlchemy Session and plain values.

Services flush, never commit: the request or the job commits once at its edge.
Nothing here imports flask.request.
"""
