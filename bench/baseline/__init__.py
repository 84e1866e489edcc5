"""A bare Django REST framework create, measured beside the incident create.

The incident issue gives its targets with a yardstick measured on its own machine: "bare
DRF create 3.1 ms, 457/s". This app is that yardstick here: one table, a ModelSerializer,
a create-only viewset, no authentication, sessions or middleware, served by the same
gunicorn and PostgreSQL as the product. Its figures on the machine of a run tell how that
machine compares with the one the targets were set on.
"""
