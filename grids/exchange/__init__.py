"""The case loop's exchange with the outside: Open311, webhooks, and what the public may see.

Entry points: ``open311.as_request`` and ``open311.import_requests`` (the GeoReport v2
mapping and the importer of other cities' files), ``webhooks.enqueue`` and
``webhooks.deliver_due`` (signed notifications to outside systems), and
``publication.listable`` / ``publication.release`` (public listings: coarsened positions,
no cell under k cases, free text only when a moderator released it).
"""
